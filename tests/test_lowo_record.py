"""The recorded leave-one-writer-out run (``eval --lowo --record`` / ``--check``): what CI checks instead of
rerunning all 53 folds — the record is current, its figures pass the gate, and rerun folds reproduce it."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from assistant.cli import main as cli_main
from evals.gate import parse_thresholds
from evals.lowo_command import DEFAULT_LOWO_THRESHOLDS, _check_record, _run, render_markdown
from evals.lowo_record import (
    RECORD_PATH,
    compare,
    inputs_digest,
    load_record,
    record_of,
    rerun_failures,
    sample_writers,
    write_record,
)


def test_the_committed_record_is_current_and_passes_the_gate():
    """Fails when code, questions or corpus changed without `policy-assistant eval --lowo --record`."""
    from evals.gate import load_thresholds

    record = load_record(RECORD_PATH)
    assert record.inputs == inputs_digest(), (
        "the recorded leave-one-writer-out figures are stale: run `OMP_NUM_THREADS=1 POLICY_ASSISTANT_EMBED_THREADS=1 "
        "policy-assistant eval --lowo --workers 2 --record` and commit evals/lowo-record.json")
    assert record.gate_failures(load_thresholds(DEFAULT_LOWO_THRESHOLDS)) == []
    # Every writer the run reads is recorded, each with one mark per question in every column.
    from evals.questions_io import load_cases, split_files

    writers = {c.writer for c in load_cases(split_files("all")) if c.writer}
    assert {w.writer for w in record.writers} == writers
    for writer in record.writers:
        assert {len(marks) for marks in [*writer.before.values(), *writer.after.values()]} == {writer.n}
    assert f"| **all question writers (pooled)** | {record.pooled_after['n']} |" in record.tables


def test_the_digest_reads_every_input_and_nothing_compiled(tmp_path):
    (tmp_path / "assistant").mkdir()
    (tmp_path / "corpus" / "models").mkdir(parents=True)
    (tmp_path / "assistant" / "service.py").write_text("A = 1\n", encoding="utf-8")
    (tmp_path / "corpus" / "models" / "understanding.npz").write_bytes(b"\0\1")
    first = inputs_digest(tmp_path)
    (tmp_path / "assistant" / "__pycache__").mkdir()
    (tmp_path / "assistant" / "__pycache__" / "service.cpython-311.pyc").write_bytes(b"compiled")
    (tmp_path / "README.md").write_text("words\n", encoding="utf-8")   # not an input
    assert inputs_digest(tmp_path) == first
    (tmp_path / "assistant" / "service.py").write_text("A = 2\n", encoding="utf-8")
    assert inputs_digest(tmp_path) != first
    (tmp_path / "assistant" / "service.py").write_text("A = 1\n", encoding="utf-8")
    (tmp_path / "corpus" / "models" / "understanding.npz").write_bytes(b"\0\2")
    assert inputs_digest(tmp_path) != first
    # A file moved is another input even with the same bytes.
    (tmp_path / "corpus" / "models" / "understanding.npz").write_bytes(b"\0\1")
    assert inputs_digest(tmp_path) == first
    (tmp_path / "corpus" / "models" / "understanding.npz").rename(tmp_path / "corpus" / "models" / "other.npz")
    assert inputs_digest(tmp_path) != first


def test_the_sample_holds_a_writer_of_each_language_and_moves_with_the_inputs():
    record = load_record(RECORD_PATH)
    languages = {w.writer: w.language for w in record.writers if not w.matching}
    assert set(languages.values()) == {"zh", "en"}
    picks = set()
    for digest in ("0" * 16, "1" * 16, "abcdef0123456789", "fedcba9876543210"):
        chosen = sample_writers(dataclasses.replace(record, inputs=digest), 4)
        assert chosen == sorted(chosen) and len(set(chosen)) == 4
        assert {"zh", "en"} <= {languages.get(w) for w in chosen}
        assert sample_writers(dataclasses.replace(record, inputs=digest), 4) == chosen   # the same for one commit
        picks.add(tuple(chosen))
    assert len(picks) > 1


def test_stale_missing_or_misplaced_records_fail_before_any_fold_runs(tmp_path, capsys, monkeypatch):
    import evals.lowo_command as command

    monkeypatch.setattr(command, "_run", lambda *a, **k: pytest.fail("no fold may run against a stale record"))
    stale = tmp_path / "stale.json"
    write_record(dataclasses.replace(load_record(RECORD_PATH), inputs="0123456789abcdef"), stale)
    assert cli_main(["eval", "--lowo", "--check", str(stale)]) == 1
    err = capsys.readouterr().err
    assert "0123456789abcdef" in err and "已过期" in err and "eval --lowo --record" in err
    assert cli_main(["eval", "--lowo", "--check", str(tmp_path / "none.json")]) == 2
    assert "先运行 policy-assistant eval --lowo --record" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"version": 1, "inputs": "x"}', encoding="utf-8")
    assert cli_main(["eval", "--lowo", "--check", str(tmp_path / "bad.json")]) == 2
    assert "格式不对" in capsys.readouterr().err
    assert cli_main(["eval", "--lowo", "--check", str(stale), "--sample", "0"]) == 2
    assert "--sample 至少为 1" in capsys.readouterr().err
    assert cli_main(["eval", "--check"]) == 2
    assert "只能与 --lowo 同用" in capsys.readouterr().err
    assert cli_main(["eval", "--lowo", "--record", str(tmp_path / "r.json"), "--check", str(stale)]) == 2
    assert (tmp_path / "r.json").exists() is False


def test_recorded_figures_below_the_gate_fail_it():
    record = load_record(RECORD_PATH)
    top1 = record.pooled_after["top1_accuracy"]
    zh = record.languages_after["zh"]["caps_accuracy"]
    bounds = parse_thresholds({"min": {"top1_accuracy": top1 + 0.001},
                               "languages": {"zh": {"min": {"caps_accuracy": zh + 0.001}},
                                             "en": {"min": {"top1_accuracy": 0.5}}}}, "t.toml")
    assert record.gate_failures(bounds) == [
        f"top-1 accuracy (top1_accuracy) {top1:.3f} < {top1 + 0.001:.3f}",
        f"[zh] caps accuracy (caps_accuracy) {zh:.3f} < {zh + 0.001:.3f}"]
    # A gated language the record holds no questions in fails instead of passing unmeasured.
    without_english = dataclasses.replace(record, languages_after={"zh": record.languages_after["zh"]})
    assert "[en] no questions in this language were recorded" in without_english.gate_failures(bounds)


@pytest.mark.slow
def test_a_record_is_reproduced_by_rerunning_its_writers_and_a_changed_one_is_not(built_home, tmp_path, monkeypatch,
                                                                                    capsys):
    """A small real run recorded, then checked as CI checks the committed one: its folds rerun in a new process's
    assistant give the same answers question by question; an answer recorded otherwise is caught and named."""
    import shutil

    from evals.questions_io import QUESTIONS_DIR, load_cases, split_files

    home = tmp_path / "home"     # the session's index, copied: the run keeps its question vectors in its home
    shutil.copytree(built_home, home)
    monkeypatch.setenv("POLICY_ASSISTANT_HOME", str(home))
    by_writer: dict[str, list] = {}
    for case in load_cases([*split_files("train"), QUESTIONS_DIR / "offtopic-calibration.jsonl"]):
        by_writer.setdefault(case.writer, []).append(case)
    # A small slice (the off-topic set cut too): the check path answers every training question twice, once to
    # record and once to check.
    train_cases = [c for w in ("w02", "w09", "w13", "w40") for c in by_writer[w][:20]] + by_writer["offtopic"][:40]
    eval_cases = [c for w in ("w09", "w40") for c in by_writer[w][:12]]
    args = argparse.Namespace(quiet=True, curve=False, workers=1, sample=2, thresholds=None)
    report = _run(args, train_cases, eval_cases)
    path = tmp_path / "record.json"
    write_record(record_of(report, "00000000000000ff", render_markdown(report)), path)
    record = load_record(path)
    assert [(w.writer, w.language, w.n) for w in record.writers] == [("w09", "zh", 12), ("w40", "en", 12)]

    lenient = tmp_path / "lenient.toml"
    lenient.write_text("[min]\ntop1_accuracy = 0.0\n", encoding="utf-8")
    args.thresholds = lenient
    assert _check_record(args, record, train_cases, eval_cases) == 0
    out = capsys.readouterr()
    assert "| w09 | 12 |" in out.out and "| w40 | 12 |" in out.out and "门禁通过" in out.err
    assert out.out.count("| 0 (1) |") == 2

    # One question answered otherwise is within what another machine's numerics may move; two are not.
    w09 = record.writer("w09")
    flipped = "".join("1" if m == "0" else "0" for m in w09.after["top1"][:2]) + w09.after["top1"][2:]
    changed = dataclasses.replace(w09, after={**w09.after, "top1": flipped})
    rerun = compare(changed, report.results[0])
    assert (rerun.questions_differing, rerun.allowed, rerun.reproduces) == (2, 1, False)
    assert rerun_failures([rerun]) == ["w09: 2 of 12 questions answered otherwise than recorded (at most 1 allowed)"]
    one = dataclasses.replace(w09, before={**w09.before, "declined": ("1" if w09.before["declined"][5] == "0" else "0")
                                          .join([w09.before["declined"][:5], w09.before["declined"][6:]])})
    assert compare(one, report.results[0]).reproduces and rerun_failures([compare(one, report.results[0])]) == []
    other_questions = dataclasses.replace(w09, ids="0" * 16)
    assert rerun_failures([compare(other_questions, report.results[0])]) == [
        "w09: the rerun graded other questions than the record (re-record)"]


def test_record_and_check_refuse_question_files(tmp_path, capsys):
    questions = Path(__file__).resolve().parents[1] / "evals" / "questions" / "dev.jsonl"
    assert cli_main(["eval", str(questions), "--lowo", "--record", str(tmp_path / "r.json")]) == 2
    assert "不接受题目文件" in capsys.readouterr().err
