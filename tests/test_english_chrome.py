"""English in, English out around the answer (issue #14, item 5): the chrome of an English answer, the lookup desk
with an English query, and the errors a question can meet — English for an English question, Chinese (byte for byte
as before) for a Chinese one or when the language cannot be told. The JSON error keeps ``error`` and adds ``lang``.

API checks run in process on the real routes, guard and error handlers; the assistant behind them is real (no index
is needed to check a question) or, for the 500, one that fails."""

from __future__ import annotations

import re
from pathlib import Path

from ui import render

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = "How much funding can a digital creative incubator get?"


def _client(tmp_path: Path, opener, **config):  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    from ui.config import ServeConfig
    from ui.holder import AssistantHolder
    from ui.server import create_app

    holder = AssistantHolder(opener=opener)
    app = create_app(ServeConfig(home=tmp_path, port=0, **config), holder=holder, load=False)
    return holder, TestClient(app, raise_server_exceptions=False, client=("10.0.0.9", 5000))


def _bare_assistant():   # the real checks and answers' refusals; no index
    from assistant.knowledge import load_knowledge
    from assistant.service import AssistantConfig, PolicyAssistant

    return PolicyAssistant(load_knowledge(), None, AssistantConfig(max_turns=3, max_question_chars=200))


def _error(response, status: int, code: str, lang: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "lang"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code and body["lang"] == lang, body
    message = body["error"]["message"]
    assert bool(CJK.search(message)) == (lang == "zh"), message
    return message


# ---- API errors --------------------------------------------------------------------------------------
def test_bad_input_is_refused_in_the_language_of_the_question(tmp_path):
    holder, client = _client(tmp_path, _bare_assistant)
    holder.load()
    long_en = "How much can an incubator get? " * 10
    assert _error(client.post("/api/ask", json={"question": long_en}), 400, "bad_input", "en").startswith(
        f"The question is too long ({len(long_en)} characters)")
    # an empty or letterless turn takes the conversation's language; the turn is named in it
    assert _error(client.post("/api/ask", json={"turns": [ENGLISH, "\u200b"]}), 400, "bad_input", "en") == (
        "Turn 2: The question is empty; please type what you want to ask.")
    assert _error(client.post("/api/ask", json={"turns": [ENGLISH, "😀"]}), 400, "bad_input", "en").startswith(
        "Turn 2: No words were found")
    assert "limit is 3" in _error(client.post("/api/ask", json={"turns": [ENGLISH] * 4}), 400, "too_many_turns", "en")
    assert _error(client.post("/api/search", json={"query": long_en}), 400, "bad_input", "en").startswith(
        "The question is too long")
    # Chinese, and nothing to tell by, stay Chinese and unchanged
    assert _error(client.post("/api/ask", json={"turns": ["孵化器", "\u200b"]}), 400, "bad_input", "zh") == (
        "第 2 轮：问题为空，请输入您想咨询的内容。")
    assert _error(client.post("/api/ask", json={"question": "😀🎉"}), 400, "bad_input", "zh") == (
        "没有识别到文字内容，请用文字描述您的问题。")
    assert _error(client.post("/api/ask", json={"question": "a" * 300}), 400, "bad_input", "zh").startswith("问题过长")
    assert _error(client.post("/api/ask", json={"question": "孵化器" * 100}), 400, "bad_input", "zh").startswith("问题过长")


def test_the_index_loading_or_broken_is_said_in_the_language_of_the_question(tmp_path):
    from indexing.manifest import IndexNotBuilt

    def opener():
        raise IndexNotBuilt(tmp_path / "index")

    holder, client = _client(tmp_path, opener)
    assert _error(client.post("/api/ask", json={"question": ENGLISH}), 503, "index_not_ready", "en") == (
        "The index is loading; please try again in a moment.")
    assert _error(client.post("/api/ask", json={"question": "孵化器"}), 503, "index_not_ready", "zh") == (
        "索引正在加载，请稍候再试。")
    holder.load()
    broken = _error(client.post("/api/search", json={"query": "incubator funding"}), 503, "index_problem", "en")
    assert broken.startswith("The index cannot be used right now") and "index --rebuild" in broken
    assert _error(client.get("/api/search", params={"q": "incubator funding"}), 503, "index_problem", "en")
    _error(client.post("/api/search", json={"query": "孵化器"}), 503, "index_problem", "zh")


class _FailingAssistant:
    def __init__(self) -> None:
        from assistant.knowledge import load_knowledge

        self.knowledge = load_knowledge()

    def ask(self, turns, id=None):  # noqa: A002 - the facade's signature
        raise RuntimeError("secret detail")

    def search(self, query, k=5):
        raise RuntimeError("secret detail")

    def health(self, check_disk=True):
        return {"ready": True, "model": "fake", "counts": {}, "built_at": "", "problems": []}


def test_a_server_error_is_said_in_the_language_of_the_question(tmp_path):
    holder, client = _client(tmp_path, _FailingAssistant)
    holder.load()
    english = client.post("/api/ask", json={"turns": ["孵化器多少钱", ENGLISH]})
    assert _error(english, 500, "internal_error", "en") == "Internal server error; please try again later."
    assert "secret" not in english.text
    assert _error(client.post("/api/ask", json={"question": "孵化器"}), 500, "internal_error", "zh") == (
        "服务器内部错误，请稍后再试。")


def test_the_rate_limit_and_busy_refusals_read_the_question(tmp_path):
    holder, client = _client(tmp_path, _bare_assistant, rate_limit="2/minute")
    holder.load()
    assert [client.post("/api/search", json={"query": "孵化器"}).status_code for _ in range(2)] == [200, 200]
    english = client.post("/api/ask", json={"question": ENGLISH})
    assert _error(english, 429, "rate_limited", "en").startswith("Too many requests: each client may make 2 "
                                                                   "requests per minute")
    assert english.headers["Retry-After"]
    assert _error(client.get("/api/search", params={"q": "incubator caps"}), 429, "rate_limited", "en")
    chinese = _error(client.post("/api/ask", json={"question": "孵化器"}), 429, "rate_limited", "zh")
    assert chinese.startswith("请求过于频繁：每个客户端每分钟 2 次")
    _error(client.post("/api/feedback", content=b"not json", headers={"content-type": "application/json"}),
           429, "rate_limited", "zh")                                  # nothing to tell by
    web = client.post("/gradio_api/run/lookup", json={"data": ["incubator funding caps"]})
    assert _error(web, 429, "rate_limited", "en")


def test_other_errors_keep_their_shape_and_say_chinese(tmp_path):
    holder, client = _client(tmp_path, _bare_assistant)
    holder.load()
    _error(client.get("/api/nowhere"), 404, "not_found", "zh")
    _error(client.post("/api/ask", content=b"{", headers={"content-type": "application/json"}), 400, "bad_json", "zh")


# ---- the chrome of an English answer ------------------------------------------------------------------
def test_an_english_answer_is_surrounded_by_english(assistant, knowledge):
    answer = assistant.ask([ENGLISH])
    html = render.answer_html(answer, index=1, feedback="up", known_sections=[s.key for s in knowledge.primary.document.sections])
    assert answer.lang == "en" and answer.caps
    headers = re.findall(r"<th>([^<]*)</th>", html)
    assert headers == [render.CAP_COLUMNS_EN[key] for key, _ in render.CAP_COLUMNS]
    assert set(re.findall(r'data-label="([^"]*)"', html)) <= set(render.CAP_COLUMNS_EN.values())
    assert "<caption>Caps (the original Chinese wording)</caption>" in html
    assert '">(16)</button>' in html                                  # the clause column as English answers name it
    assert "👍 Helpful" in html and "👎 Not helpful" in html and "Recorded, thank you" in html
    # everything Chinese left in the page is the document's: the quote, cap cells, titles, 万元 amounts, the notice
    chrome = re.sub(r"<(td|li|p class=\"pa-quote\")[^>]*>.*?</\1>|title=\"[^\"]*\"|data-[a-z]+=\"[^\"]*\"", "", html,
                    flags=re.S)
    chrome = re.sub(r"<div class=\"pa-text[^\"]*\">.*?</div>", "", chrome, flags=re.S)
    chrome = re.sub(r"<button type=\"button\" class=\"pa-chip\"[^>]*>[^<]*</button>", "", chrome)
    assert not CJK.search(chrome), chrome


def test_a_chinese_answer_keeps_its_chrome_byte_for_byte(assistant):
    answer = assistant.ask(["我们是做孵化器的，最多能补多少？"])
    html = render.answer_html(answer, index=1, feedback="down")
    assert "<th>条款</th><th>金额</th><th>限定</th><th>期限</th><th>对象</th><th>依据</th>" in html
    assert ('title="有帮助">👍 有帮助</button>' in html and 'title="没帮助">👎 没帮助</button>' in html
            and '<span class="pa-muted">已记录，谢谢反馈</span>' in html)
    assert render.feedback_html(3, None) == render.feedback_html(3, None, "zh")
    assert render.cap_table_html(answer.caps) == render.cap_table_html(answer.caps, lang="zh")


def test_the_clause_view_and_search_results_label_english_queries_in_english(assistant, knowledge):
    view = knowledge.section_view(knowledge.section("十六"))
    english = render.clause_html(view, lang="en", draft=True, notice="An English notice.")
    assert "Caps of this clause" in english and "<th>Amount</th>" in english and "An English notice." in english
    assert "本条资助上限" not in english and render.clause_html(view) == render.clause_html(view, lang="zh")
    result = assistant.search("incubator funding", k=3)
    html = render.search_results_html(result, lang="en")
    assert "score" in html and "得分" not in html and "本条资助上限" not in html
    assert "Matched: " in html or "Via: " in html
    empty = render.search_results_html(type(result)(result.query, result.query, [], []), lang="en")
    assert "No clause was found for" in empty
