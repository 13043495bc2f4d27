"""The web UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright's Python API).

One walk through the page as an entrepreneur and a hotline agent would use it, with a screenshot of each
step in artifacts/screenshots/. The page must make no request outside loopback (no CDN fonts or scripts).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from ui_fixtures import CHROMIUM, LAUNCH_ARGS, STEP_TIMEOUT, ask

pytest_plugins = ("ui_fixtures",)  # the session fixtures: built_home, server
pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
LAST_ANSWER = "#pa-chat-view .pa-msg.pa-assistant >> nth=-1"


@pytest.fixture(scope="module")
def page(server, tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.exists():
        pytest.skip("需要 Debian 的 Chromium：apt-get install -y chromium chromium-driver（/usr/bin/chromium 不存在）")
    sync_api = pytest.importorskip("playwright.sync_api", reason="需要 playwright 的 Python 包")
    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True,
            viewport={"width": 1400, "height": 1000}, locale="zh-CN",
        )
        outside: list[str] = []
        dialogs: list[str] = []
        context.on("request", lambda r: None if _is_local(r.url) else outside.append(r.url))
        pg = context.pages[0] if context.pages else context.new_page()
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.set_default_timeout(STEP_TIMEOUT)
        pg.goto(server.url)
        pg.wait_for_selector("#pa-chat-input textarea, #pa-chat-input input")
        pg.outside_requests = outside  # type: ignore[attr-defined]
        pg.dialogs = dialogs  # type: ignore[attr-defined]
        yield pg
        context.close()


def _is_local(url: str) -> bool:
    """Loopback HTTP(S) or an in-page scheme; anything else would be a request off this machine."""
    parsed = urlsplit(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname in ("127.0.0.1", "localhost", "::1")


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_01_page_has_the_tabs_and_the_draft_notice(page):
    for name in ("创业者咨询", "政策匹配", "热线查询", "管理"):
        assert page.get_by_role("tab", name=name).count() == 1
    assert "征求意见稿" in page.locator("#pa-draft-notice").inner_text()
    shot(page, "01-start")


def test_02_ask_shows_clause_chip_and_cap_table(page):
    ask(page, "我们是做孵化器的，最多能补多少？")
    answer = page.locator(LAST_ANSWER)
    chip = answer.locator(".pa-chip[data-section='十六']")
    assert chip.count() == 1 and "（十六）" in chip.inner_text()
    # The conclusion comes first and states the cap; the cap table is in the long form, one click away.
    conclusion = answer.inner_text().split("详细依据")[0]
    assert "200万元" in conclusion
    table = answer.locator("table.pa-caps")
    assert not table.first.is_visible()
    answer.locator("details.pa-more > summary").first.click()
    table.first.wait_for(state="visible")
    assert table.count() >= 1
    assert "200万元" in table.first.inner_text()
    headers = table.first.locator("th").all_inner_texts()
    assert headers[:6] == ["条款", "金额", "限定", "期限", "对象", "依据"]
    shot(page, "02-answer")


def test_03_chip_opens_clause_with_highlighted_quote(page):
    page.locator(LAST_ANSWER).locator(".pa-chip[data-section='十六']").click()
    panel = page.locator("#pa-clause-view .pa-clause[data-section='十六']")
    panel.wait_for()
    mark = panel.locator("mark")
    assert mark.count() == 1
    assert "给予最高200万元资助" in mark.inner_text()
    assert "推进数字创意孵化中心建设" in panel.inner_text()  # the full clause, not only the quote
    shot(page, "03-clause")


def test_04_follow_up_keeps_the_conversation(page):
    ask(page, "有期限吗？")
    text = page.locator(LAST_ANSWER).inner_text()
    assert "3年" in text
    assert page.locator("#pa-chat-view .pa-msg.pa-user").count() == 2
    shot(page, "04-follow-up")


def test_05_thumbs_down_with_comment(page):
    page.locator(LAST_ANSWER).locator("button.pa-fb[data-rating='down']").click()
    comment = page.locator("#pa-fb-comment textarea")
    comment.wait_for(state="visible")
    comment.fill("希望直接写明3年从何时起算")
    page.locator("#pa-fb-submit").click()
    page.locator("#pa-fb-box").wait_for(state="hidden")
    assert page.locator(LAST_ANSWER).locator("button.pa-fb.pa-on[data-rating='down']").count() == 1
    shot(page, "05-feedback")


def test_05b_clarifying_options_send_the_next_turn(page):
    # 研发 (三) and 应用 (四) are both close for this description and pay differently: the assistant asks.
    ask(page, "我们做数字技术项目，能补多少？")
    options = page.locator(LAST_ANSWER).locator("button.pa-option")
    assert options.count() == 2
    chosen = options.last
    section = chosen.get_attribute("data-section")
    label = chosen.inner_text()
    before = page.locator("#pa-chat-view .pa-feedback").count()
    chosen.click()
    page.wait_for_function(
        "n => document.querySelectorAll('#pa-chat-view .pa-feedback').length > n", arg=before, timeout=STEP_TIMEOUT
    )
    assert page.locator("#pa-chat-view .pa-msg.pa-user").last.inner_text().strip() == label
    assert page.locator(LAST_ANSWER).locator(f".pa-chip[data-section='{section}']").count() == 1
    shot(page, "05b-clarify")


def test_06_script_and_markdown_image_render_as_text(page):
    evil = "<script>alert('x')</script>孵化器 ![x](http://evil.invalid/x.png) ${7*7} {{value}} <img src=x onerror=alert(2)>"
    ask(page, evil)
    user = page.locator("#pa-chat-view .pa-msg.pa-user").last
    assert user.inner_text().strip() == evil
    assert page.locator("#pa-chat-view script").count() == 0
    assert page.locator("#pa-chat-view img").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]
    page.locator("#pa-new").click()
    page.wait_for_function("() => document.querySelectorAll('#pa-chat-view .pa-msg').length === 0")


def test_06b_english_question_gets_an_english_answer(page):
    # after test_06 the chat is a new conversation
    ask(page, "How much funding can a digital creative incubator get?")
    answer = page.locator(LAST_ANSWER)
    conclusion = answer.inner_text().split("Details:")[0]
    assert "Under clause (16)" in conclusion and "RMB 2 million (200万元)" in conclusion
    assert answer.locator(".pa-chip[data-section='十六']").count() >= 1 and "Clauses cited" in answer.inner_text()
    answer.locator("details.pa-more > summary").first.click()
    assert "Original text (原文)" in answer.inner_text()
    ask(page, "How many years?")
    assert "3 years" in page.locator(LAST_ANSWER).inner_text()
    shot(page, "06b-english")
    page.locator("#pa-new").click()
    page.wait_for_function("() => document.querySelectorAll('#pa-chat-view .pa-msg').length === 0")


def test_07_lookup_desk_ranks_clause_first_with_standard_reply(page):
    page.get_by_role("tab", name="热线查询").click()
    box = page.locator("#pa-search textarea, #pa-search input").first
    box.wait_for(state="visible")
    box.fill("孵化器上限")
    box.press("Enter")
    first = page.locator("#pa-search-results .pa-result").first
    first.wait_for()
    assert first.get_attribute("data-section") == "十六"
    assert "（十六）建设数字创意孵化器" in first.locator(".pa-clause-head").inner_text()
    assert "200万元" in first.inner_text()
    reply = page.locator("#pa-reply textarea")
    page.wait_for_function("() => document.querySelector('#pa-reply textarea').value.includes('（十六）')")
    assert "200万元" in reply.input_value()
    assert page.locator("#pa-outline .pa-outline-section").count() >= 27  # 26 clauses + chapter 一 body
    assert "附则" in page.locator("#pa-outline").inner_text()
    shot(page, "07-lookup")


def test_08_cap_table_sorts_by_amount(page):
    def row(n: int) -> str:  # data rows start at aria-rowindex 2 (1 is the header)
        return f"document.querySelector('#pa-cap-dataframe [role=row][aria-rowindex=\"{n + 1}\"]')?.innerText || ''"

    assert "（四）" in page.evaluate(f"() => {row(2)}")  # clause order: （三） then （四）
    page.get_by_text("按金额从高到低").click()
    top_four = " && ".join(f"{row(n)}.includes('{label}')" for n, label in enumerate(("三", "九", "十七", "二十二"), 1))
    page.wait_for_function(f"() => {top_four}")  # the four 500万 caps lead
    page.wait_for_timeout(1000)
    rows = [page.evaluate(f"() => {row(n)}") for n in (1, 2, 3, 4, 5)]
    assert all("500" in r for r in rows[:4]), rows
    assert "500" not in rows[4], rows
    shot(page, "08-cap-table")


def test_09_policy_matching_offers_downloads(page):
    page.get_by_role("tab", name="政策匹配").click()
    page.locator("#pa-match-business textarea").fill("运营数字创意孵化器，同时建设直播基地")
    page.locator("#pa-match-plan textarea").fill("开拓海外市场")
    page.locator("#pa-match-run").click()
    page.locator("#pa-match-result .pa-match-card").first.wait_for()
    assert page.locator("#pa-match-result .pa-chip[data-section='十六']").count() >= 1
    page.locator("#pa-match-md").wait_for(state="visible")
    if shutil.which("fc-list"):
        note = page.locator("#pa-match-note").inner_text()
        assert page.locator("#pa-match-pdf").is_visible() or "仅提供 Markdown" in note
    shot(page, "09-match")


def test_10_admin_lists_the_thumbs_down_first(page):
    page.get_by_role("tab", name="管理").click()
    table = page.locator("#pa-admin-feedback")
    page.wait_for_function(
        "() => (document.querySelector('#pa-admin-feedback')?.innerText || '').includes('希望直接写明3年从何时起算')"
    )
    first_row = table.locator('[role=row][aria-rowindex="2"]').first.inner_text()
    assert "👎" in first_row, first_row
    assert re.search("就绪", page.locator("#pa-admin-health").inner_text())
    shot(page, "10-admin")

    page.locator("#pa-admin-fb-export").click()
    download_button = page.locator("#pa-admin-fb-file")
    download_button.wait_for(state="visible")
    with page.expect_download() as info:
        download_button.click()
    cases = [json.loads(line) for line in Path(info.value.path()).read_text(encoding="utf-8").splitlines()]
    case = next(c for c in cases if c["note"] == "希望直接写明3年从何时起算")
    assert case["turns"] == ["我们是做孵化器的，最多能补多少？", "有期限吗？"]
    assert case["tags"] == ["feedback"] and case["persona"] == "entrepreneur" and case["must_refuse"] is False


def test_10b_admin_rejects_a_document_that_is_not_a_policy(page, server, tmp_path):
    junk = tmp_path / "随便写写.txt"
    junk.write_text("这不是政策文件，没有任何条款。\n", encoding="utf-8")
    page.locator("#pa-admin-upload input[type=file]").set_input_files(str(junk))
    page.locator("#pa-admin-add").click()
    page.wait_for_function("() => (document.querySelector('#pa-admin-build-status')?.innerText || '').includes('文档被拒绝')")
    assert "随便写写.txt" in page.locator("#pa-admin-build-status").inner_text()
    shot(page, "10b-admin-upload-rejected")
    uploads = server.home / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []  # nothing kept, no temp files
    assert page.locator("#pa-admin-health").inner_text().count("就绪") == 1


def test_11_admin_token_is_required_when_set(page, built_home, tmp_path):
    from ui_fixtures import start_server, stop_server

    guarded = start_server(built_home, "--admin-token", "tok-123")
    try:
        admin = page.context.new_page()
        admin.set_default_timeout(STEP_TIMEOUT)
        admin.goto(guarded.url)
        admin.get_by_role("tab", name="管理").click()
        token = admin.locator("#pa-admin-token input")
        token.wait_for(state="visible")
        assert not admin.locator("#pa-admin-health").is_visible()
        token.fill("wrong")
        admin.locator("#pa-admin-unlock").click()
        admin.get_by_text("令牌不正确").first.wait_for()
        assert not admin.locator("#pa-admin-health").is_visible()
        token.fill("tok-123")
        admin.locator("#pa-admin-unlock").click()
        admin.wait_for_function("() => (document.querySelector('#pa-admin-health')?.innerText || '').includes('就绪')")
        shot(admin, "11-admin-unlocked")
        # The unlock belongs to this browser's session cookie: its upload and the file it names are accepted.
        junk = tmp_path / "令牌后上传.txt"
        junk.write_text("这不是政策文件。\n", encoding="utf-8")
        admin.locator("#pa-admin-upload input[type=file]").set_input_files(str(junk))
        admin.locator("#pa-admin-add").click()
        admin.wait_for_function("() => (document.querySelector('#pa-admin-build-status')?.innerText || '').includes('文档被拒绝')")
        cookies = {c["name"]: c for c in admin.context.cookies(guarded.url)}
        assert cookies["pa_session"]["httpOnly"] and cookies["pa_session"]["sameSite"] == "Strict"
        admin.close()
    finally:
        stop_server(guarded)


def test_12_no_request_left_loopback(page):
    assert page.outside_requests == []  # type: ignore[attr-defined]
