"""ui/feedback.py: WAL mode, durability across connections and processes, concurrent writers, export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ui.feedback import FeedbackError, FeedbackStore, default_path

ROOT = Path(__file__).resolve().parent.parent


def test_default_path_is_under_home(isolated_home):
    assert default_path() == isolated_home / "feedback.sqlite3"
    store = FeedbackStore()
    assert store.path.exists()
    store.close()


def test_wal_mode_and_synchronous(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    assert store.journal_mode() == "wal"
    assert store.synchronous() in (1, 2)  # NORMAL or FULL
    store.close()


def test_rows_persist_across_connections(tmp_path):
    path = tmp_path / "fb.sqlite3"
    store = FeedbackStore(path)
    answer = {"id": "q-1", "answer": "最高200万元", "citations": [{"section": "十六"}]}
    rid = store.add("down", "孵化器最多多少？", ["孵化器最多多少？"], answer, comment="没说期限")
    store.close()

    reopened = FeedbackStore(path)
    record = reopened.get(rid)
    assert record is not None
    assert record.rating == "down" and record.comment == "没说期限"
    assert record.turns == ("孵化器最多多少？",)
    assert record.answer == answer and record.answer_id == "q-1"
    assert reopened.set_comment(rid, "改了") and reopened.get(rid).comment == "改了"
    assert not reopened.set_comment(9999, "x")
    reopened.close()


def test_bad_input_is_rejected(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    with pytest.raises(FeedbackError):
        store.add("meh", "q")
    with pytest.raises(FeedbackError):
        store.add("up", 123)  # type: ignore[arg-type]
    with pytest.raises(FeedbackError):
        store.add("up", "q", turns=[1, 2])  # type: ignore[list-item]
    assert store.count() == 0
    store.close()


def test_concurrent_writers_from_threads(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                store.add("up" if i % 2 else "down", f"问题{n}-{i}", [f"问题{n}-{i}"], {"n": n, "i": i})
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert store.count() == 200
    assert store.count("down") == 8 * 13  # i even → down
    store.close()


_WRITER = """
import sys
from pathlib import Path
from ui.feedback import FeedbackStore
store = FeedbackStore(Path(sys.argv[1]))
for i in range(int(sys.argv[2])):
    store.add("down", f"proc-{sys.argv[3]}-{i}", [], {})
print("ok", flush=True)
if sys.argv[4] == "hang":
    import time
    time.sleep(60)
"""


def test_two_processes_write_and_survive_sigkill(tmp_path):
    path = tmp_path / "fb.sqlite3"
    FeedbackStore(path).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "40", str(n), "hang"],
                         stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        for n in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ok"
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    store = FeedbackStore(path)
    assert store.count() == 80
    questions = {r.question for r in store.records()}
    assert "proc-0-39" in questions and "proc-1-0" in questions
    store.close()


def test_records_are_thumbs_down_first_and_export_is_eval_format(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add("up", "好问题", ["好问题"], {})
    down = store.add("down", "有期限吗？", ["孵化器最多补多少？", "有期限吗？"], {"answer": "x"}, comment="应答3年")
    store.add("up", "再一个", ["再一个"], {})
    records = store.records()
    assert [r.rating for r in records] == ["down", "up", "up"]
    assert records[0].id == down

    lines = store.export_eval_cases().splitlines()
    assert len(lines) == 3
    case = json.loads(lines[0])
    assert case == {
        "id": f"feedback-{down}",
        "turns": ["孵化器最多补多少？", "有期限吗？"],
        "gold_clauses": [],
        "gold_caps": [],
        "must_refuse": False,
        "persona": "entrepreneur",
        "tags": ["feedback"],
        "note": "应答3年",
    }
    # a record stored without turns still exports its question as the one turn
    rid = store.add("down", "单独的问题", [], {})
    assert json.loads(store.export_eval_cases([store.get(rid)]))["turns"] == ["单独的问题"]
    store.close()


def test_values_are_stored_whole_or_refused_never_cut(tmp_path):
    """Issue #15: a 20,000-character question kept 4,000 characters, a 3,203-character comment 2,000."""
    from ui.feedback import MAX_COMMENT

    store = FeedbackStore(tmp_path / "fb.sqlite3")
    long_question, long_turn = "孵" * 20_000, "化" * 10_000
    rid = store.add("down", long_question, [long_turn, long_question], comment="很" * MAX_COMMENT)
    record = store.get(rid)
    assert record is not None and record.question == long_question and record.turns == (long_turn, long_question)
    assert record.comment == "很" * MAX_COMMENT
    with pytest.raises(FeedbackError, match="3203"):
        store.add("down", "孵化器", comment="很" * 3203)
    with pytest.raises(FeedbackError, match="过长"):
        store.set_comment(rid, "很" * (MAX_COMMENT + 1))
    assert store.count() == 1 and store.get(rid).comment == "很" * MAX_COMMENT   # the refused write changed nothing
    store.close()
