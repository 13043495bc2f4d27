"""The web page's event functions and the API on the real assistant: typed answers flow to the page, JSON is made
where it leaves the process, and each request's question is checked exactly once."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from assistant import question_text
from assistant.answer import Answer
from assistant.question_text import CheckedQuestion, check_turns, clean_question


class CountingPattern:
    """``question_text._LETTER`` with a count: it is searched once per question that passes the check."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.calls = 0

    def search(self, text: str) -> re.Match[str] | None:
        self.calls += 1
        return self.pattern.search(text)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> CountingPattern:
    counter = CountingPattern(question_text._LETTER)
    monkeypatch.setattr(question_text, "_LETTER", counter)
    return counter


@pytest.fixture
def page(assistant, tmp_path: Path):
    """The Blocks' event functions by name, on the session's real assistant (no server, no streaming pause)."""
    from ui.app import build_blocks
    from ui.config import ServeConfig
    from ui.feedback import FeedbackStore

    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    blocks = build_blocks(assistant, ServeConfig(home=tmp_path, port=0, stream_step=0), feedback=store)
    functions = {getattr(f.fn, "__name__", ""): f.fn for f in blocks.fns.values()}
    yield functions, store
    store.close()


def test_a_checked_question_passes_the_check_as_it_is():
    checked = clean_question("  孵化器\u200b最多补多少 ", 100)
    assert isinstance(checked, CheckedQuestion) and checked == "孵化器最多补多少"
    assert clean_question(checked, 100) is checked
    assert all(a is b for a, b in zip(check_turns([checked], 100, 5), [checked], strict=True))
    derived = checked + "？"
    assert type(derived) is str and type(checked.strip()) is str     # anything derived is checked when asked
    with pytest.raises(question_text.TooManyTurns):                   # the turn limit still holds for checked turns
        check_turns([checked] * 6, 100, 5)


def test_chat_checks_each_question_once_and_keeps_typed_answers(page, checks):
    from ui.tabs.chat import new_conversation

    functions, store = page
    *_, last = functions["send"]("我们是做孵化器的，最多能补多少？", new_conversation(), None)
    html, _, conv, side = last
    assert checks.calls == 1                  # the tab's check; ask took the checked text as it is
    answer = conv["messages"][-1]["answer"]
    assert isinstance(answer, Answer) and answer.citations[0].section == "十六"
    assert "（十六）建设数字创意孵化器" in html and 'data-section="十六"' in side
    *_, last = functions["send"]("那能补几年", conv, None)
    conv = last[2]
    assert checks.calls == 2                  # the new turn only: the first was checked by its own request
    assert isinstance(conv["turns"][0], CheckedQuestion) and len(conv["messages"]) == 4

    # a chip click highlights the answer's own citation of that clause, read from the typed answer
    chip = functions["on_chip"](conv, type("Event", (), {"section": "十六", "doc": None})())
    assert "<mark>" in chip

    # 👎 stores the answer as the JSON contract: the feedback file is where it leaves the process
    _, _, _, record_id, _ = functions["on_rate"](conv, type("Event", (), {"rating": "down", "index": 3})())
    stored = store.get(record_id).answer
    assert stored == conv["messages"][3]["answer"].to_json()
    assert list(stored) == list(Answer.rejected("", "x").to_json())


def test_chat_refuses_a_bad_question_once_with_the_checks_message(page, checks):
    from ui.tabs.chat import new_conversation

    functions, _ = page
    conv = new_conversation()
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        *_, last = functions["send"]("😀😀", conv, None)
    assert last[2]["messages"] == [] and last[2]["turns"] == []
    assert [str(w.message) for w in shown if "文字" in str(w.message)] == ["没有识别到文字内容，请用文字描述您的问题。"]


def test_lookup_checks_its_query_once_for_the_search_and_the_reply(page, checks):
    functions, _ = page
    results, reply = functions["lookup"]("孵化器上限", None)
    reply = reply["value"]
    assert checks.calls == 1                  # was three: the tab, search() and ask() each checked it
    assert 'data-section="十六"' in results and "（十六）" in reply


def test_match_tab_renders_the_typed_answer(page, checks):
    functions, _ = page
    html, markdown, _, _ = functions["match"]("孵化器/众创空间", "运营一个数字创意孵化器", "", None)
    assert "pa-match-card" in html and 'data-section="十六"' in html
    assert Path(markdown["value"]).read_text(encoding="utf-8").startswith("# 政策匹配摘要")


def test_api_checks_each_turn_once_and_answers_the_contract(assistant, tmp_path, checks):
    from starlette.testclient import TestClient

    from ui.config import ServeConfig
    from ui.holder import AssistantHolder
    from ui.server import create_app

    holder = AssistantHolder(opener=lambda: assistant)
    holder.load()
    client = TestClient(create_app(ServeConfig(home=tmp_path, port=0, rate_limit="off"), holder=holder, load=False))
    checks.calls = 0                          # the holder's warm-up search on load is no request
    body = client.post("/api/ask", json={"question": "孵化器最多能补多少？"}).json()
    assert checks.calls == 1 and list(body) == list(Answer.rejected("", "x").to_json())
    client.post("/api/ask", json={"turns": ["孵化器最多能补多少？", "那动漫的呢？"]})
    assert checks.calls == 3
    found = client.post("/api/search", json={"query": "孵化器上限", "k": 2}).json()
    assert checks.calls == 4 and found["results"][0]["section"] == "十六" and found["results"][0]["caps"]
    refused = client.post("/api/ask", json={"question": "😀"})
    assert refused.status_code == 400 and refused.json()["error"]["message"] == "没有识别到文字内容，请用文字描述您的问题。"


# ---- English in, English out: the page around an English question ------------------------------------
def test_an_english_chat_is_english_around_the_answer(page):
    from ui.tabs.chat import new_conversation

    functions, _ = page
    steps = list(functions["send"]("How much funding can a digital creative incubator get?", new_conversation(), None))
    assert "Looking up the clauses…" in steps[0][0] and "正在检索条款" not in steps[0][0]
    html, _, conv, side = steps[-1]
    assert conv["messages"][-1]["answer"].lang == "en"
    assert "<th>Clause</th>" in html and "👍 Helpful" in html and "有帮助" not in html and "<th>条款</th>" not in html
    assert "Caps of this clause" in side and "draft for comment" in side and "本条资助上限" not in side
    chip = functions["on_chip"](conv, type("Event", (), {"section": "十六", "doc": None})())
    assert "Caps of this clause" in chip and "<mark>" in chip
    *_, label = functions["on_rate"](conv, type("Event", (), {"rating": "down", "index": 1})())
    assert label["label"].startswith("👎 What was wrong?")
    with warnings.catch_warnings(record=True) as shown:       # a letterless turn takes the conversation's language
        warnings.simplefilter("always")
        list(functions["send"]("😀😀", conv, None))
    assert [str(w.message) for w in shown if "words" in str(w.message)] == [
        "No words were found; please describe your question in words."]


def test_a_chinese_chat_keeps_its_chinese_words(page):
    from ui.tabs.chat import new_conversation

    functions, _ = page
    steps = list(functions["send"]("我们是做孵化器的，最多能补多少？", new_conversation(), None))
    assert "正在检索条款…" in steps[0][0]
    html, _, conv, side = steps[-1]
    assert "<th>条款</th>" in html and "👍 有帮助" in html and "本条资助上限" in side
    *_, label = functions["on_rate"](conv, type("Event", (), {"rating": "up", "index": 1})())
    assert label["label"] == "👍 还有什么建议？（可选，2000 字以内）"


def test_the_lookup_desk_labels_an_english_query_in_english(page):
    functions, _ = page
    results, reply = functions["lookup"]("incubator funding cap", None)
    assert 'data-section="十六"' in results and "score" in results and "得分" not in results
    assert "本条资助上限" not in results and "<th>Amount</th>" in results
    assert reply["label"] == "Standard reply (copyable)" and "clause (16)" in reply["value"]
    results, reply = functions["lookup"]("孵化器上限", None)
    assert "得分" in results and reply["label"] == "标准答复（可复制）"
    refused, _ = functions["lookup"]("How much can an incubator get? " * 80, None)
    assert "The question is too long" in refused
