"""The page at a phone's, a laptop's and a desktop's width, measured in a real headless Chromium.

At 390×844, 1366×768 and 1920×1080: the page never scrolls sideways; every cap table (the chat answer's, the clause
panel's, 政策匹配's, the lookup desk's results and outline, the 上限表 Dataframe) either keeps each column at least
``MIN_COLUMN_PX`` wide or is shown as cards, and stays inside its own box; the chat input is on screen without
scrolling; all four tabs are reachable in the tab bar. A screenshot of each tab at each width goes to a tmp dir and,
with ``POLICY_ASSISTANT_SCREENSHOTS=DIR``, also to DIR (as small palette PNGs, the form the README's are kept in).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ui_fixtures import CHROMIUM, LAUNCH_ARGS, STEP_TIMEOUT, ask

pytest_plugins = ("ui_fixtures",)  # the session fixtures: built_home, server
pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = [(390, 844), (1366, 768), (1920, 1080)]
MIN_COLUMN_PX = 40   # three CJK characters of the tables' 0.82em text, plus padding
TABS = ("创业者咨询", "政策匹配", "热线查询", "管理")

# Problems of the visible cap tables under `root`: a table wider than its box, a column narrower than `minimum`
# (table layout), or a card line too narrow to hold its label and a value (card layout). Returns [count, problems].
CAP_TABLE_PROBLEMS = """([root, minimum]) => {
  const problems = [];
  const tables = [...document.querySelectorAll(root + ' table.pa-caps')]
    .filter(t => t.querySelector('td[data-label]') && t.checkVisibility());
  for (const table of tables) {
    const box = table.getBoundingClientRect();
    const frame = table.parentElement.getBoundingClientRect();
    const name = `${root} 「${(table.querySelector('td') || table).innerText.trim().slice(0, 8)}」`;
    if (box.right > frame.right + 1) problems.push(`${name}: ${Math.round(box.right - frame.right)}px wider than its box`);
    if (box.right > window.innerWidth) problems.push(`${name}: runs past the window's right edge`);
    if (getComputedStyle(table).display === 'table') {
      for (const th of table.querySelectorAll('thead th')) {
        const width = th.getBoundingClientRect().width;
        if (width < minimum) problems.push(`${name}: column ${th.innerText.trim()} is ${Math.round(width)}px`);
      }
    } else {
      for (const cell of table.querySelectorAll('td[data-label]')) {
        const width = cell.getBoundingClientRect().width;
        if (cell.checkVisibility() && width < 2 * minimum) {
          problems.push(`${name}: card line ${cell.dataset.label} is ${Math.round(width)}px`);
        }
      }
    }
  }
  return [tables.length, problems];
}"""
SUMMARY_STYLE = """s => { const cs = getComputedStyle(s); const box = s.getBoundingClientRect();
  return {border: cs.borderTopStyle, cursor: cs.cursor, left: box.left, right: box.right,
          clipped: s.scrollWidth > s.clientWidth + 1}; }"""
PAGE_WIDTH = "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"


@pytest.fixture(scope="module")
def browser(server):
    if not CHROMIUM.exists():
        pytest.skip("需要 Debian 的 Chromium：apt-get install -y chromium chromium-driver（/usr/bin/chromium 不存在）")
    sync_api = pytest.importorskip("playwright.sync_api", reason="需要 playwright 的 Python 包")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Where screenshots go: a tmp dir, and POLICY_ASSISTANT_SCREENSHOTS when it is set."""
    folders = [tmp_path_factory.mktemp("layout-screenshots")]
    extra = os.environ.get("POLICY_ASSISTANT_SCREENSHOTS")
    if extra:
        folders.append(Path(extra))
        folders[-1].mkdir(parents=True, exist_ok=True)
    return folders


def save_shot(page, folders: list[Path], name: str) -> None:
    png = page.screenshot(full_page=True)
    (folders[0] / f"{name}.png").write_bytes(png)
    for folder in folders[1:]:
        _write_small_png(png, folder / f"{name}.png")


def _write_small_png(png: bytes, path: Path) -> None:
    """The screenshot as a 256-colour PNG (a fifth of the size, no visible loss on UI text); as is without Pillow."""
    try:
        from io import BytesIO

        from PIL import Image
    except ImportError:
        path.write_bytes(png)
        return
    with Image.open(BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        small.save(path, optimize=True)


def open_tab(page, name: str) -> None:
    from playwright.sync_api import expect

    tab = page.get_by_role("tab", name=name)
    # Waits (up to the step timeout) rather than reads once: the tab bar is re-laid out after each tab switch, and a
    # loaded machine (CI runs the leave-one-writer-out gate beside the tests) caught it mid-layout.
    expect(tab, f"tab {name} is not in the tab bar at {page.viewport_size['width']}px").to_be_visible()
    assert_tabs_on_one_line(page)
    tab.click()


def assert_tabs_on_one_line(page) -> None:
    """Every tab is in the bar, all on one line (the bar wraps rather than hiding tabs: ui/app.py)."""
    tops = {name: page.get_by_role("tab", name=name).bounding_box() for name in TABS}
    missing = [name for name, box in tops.items() if box is None]
    assert not missing, f"tabs {missing} not in the tab bar at {page.viewport_size['width']}px"
    rows = {round(box["y"]) for box in tops.values() if box is not None}
    assert len(rows) == 1, f"the tab bar wraps onto {len(rows)} lines at {page.viewport_size['width']}px"


def assert_tables_readable(page, root: str, at_least: int = 1) -> None:
    count, problems = page.evaluate(CAP_TABLE_PROBLEMS, [root, MIN_COLUMN_PX])
    assert count >= at_least, f"expected at least {at_least} visible cap table(s) in {root}, found {count}"
    assert problems == [], problems


def assert_no_sideways_scroll(page, where: str) -> None:
    document, body, window = page.evaluate(PAGE_WIDTH)
    assert document <= window and body <= window, f"{where}: page is {max(document, body)}px wide in a {window}px window"


def assert_dataframe_columns_readable(page, selector: str, columns: int) -> None:
    widths = page.evaluate(
        "s => [...document.querySelectorAll(s + ' thead th')].map(th => th.getBoundingClientRect().width)", selector
    )
    assert len(widths) == columns, widths
    assert min(widths) >= MIN_COLUMN_PX, f"{selector} columns: {[round(w) for w in widths]}"


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_tab_fits_the_window_with_readable_cap_tables(browser, server, shots, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT)
    try:
        page.goto(server.url)
        page.wait_for_selector("#pa-chat-input textarea")
        for name in TABS:
            assert page.get_by_role("tab", name=name).is_visible(), f"tab {name} hidden at {width}px"

        # 创业者咨询: a cap with a long amount and basis (（十）), then a short one (（十六）), long forms open
        ask(page, "原创动漫作品获奖有奖励吗？")
        ask(page, "我们是做孵化器的，最多能补多少？")
        summaries = page.locator("#pa-chat-view details.pa-more > summary")
        assert summaries.count() == 2
        for index in range(2):
            summary = summaries.nth(index)
            # looks like a button (framed, pointer cursor) and is whole on screen, its text not cut off
            style = summary.evaluate(SUMMARY_STYLE)
            assert style["border"] != "none" and style["cursor"] == "pointer", style
            assert style["left"] >= 0 and style["right"] <= width and style["clipped"] is False, style
            summary.click()
        page.locator("#pa-clause-view .pa-clause[data-section='十六']").wait_for()
        assert_tables_readable(page, "#pa-chat-view", at_least=2)
        assert_tables_readable(page, "#pa-clause-view")
        assert_no_sideways_scroll(page, "创业者咨询")
        page.evaluate("() => window.scrollTo(0, 0)")
        chat_input = page.locator("#pa-chat-input textarea").first.bounding_box()
        assert chat_input is not None
        assert 0 <= chat_input["y"] and chat_input["y"] + chat_input["height"] <= height, (
            f"chat input at y={chat_input['y']:.0f}..{chat_input['y'] + chat_input['height']:.0f}, window {height}px"
        )
        assert chat_input["x"] >= 0 and chat_input["x"] + chat_input["width"] <= width
        # the shot (the README's) starts the chat box at the last question: its answer and long form below it
        page.locator("#pa-chat-view .pa-chat").evaluate(
            "chat => { const last = [...chat.querySelectorAll('.pa-msg.pa-user')].pop();"
            " chat.scrollTop = last.offsetTop - chat.offsetTop - 8; }"
        )
        save_shot(page, shots, f"chat-{width}")

        # 政策匹配: one card per clause, each with its cap table
        open_tab(page, "政策匹配")
        page.locator("#pa-match-business textarea").fill("运营数字创意孵化器，同时制作原创动漫作品")
        page.locator("#pa-match-run").click()
        page.locator("#pa-match-result .pa-match-card .pa-caps").first.wait_for()
        assert_tables_readable(page, "#pa-match-result", at_least=2)
        assert_no_sideways_scroll(page, "政策匹配")
        save_shot(page, shots, f"match-{width}")

        # 热线查询: ranked results, one outline clause opened (（十）, the longest amount), the 上限表 Dataframe
        open_tab(page, "热线查询")
        page.wait_for_function("() => document.activeElement?.closest('#pa-search')")  # ui/static/focus_search.js
        search = page.locator("#pa-search textarea, #pa-search input").first
        search.fill("孵化器上限")
        search.press("Enter")
        page.locator("#pa-search-results .pa-result").first.wait_for()
        outline = page.locator("#pa-outline")
        outline.locator("details.pa-outline-chapter > summary", has_text="五、").click()
        outline.locator("details.pa-outline-section[data-section='十'] > summary").click()
        page.locator("#pa-cap-dataframe thead th").first.wait_for()
        assert_tables_readable(page, "#pa-search-results", at_least=1)
        assert_tables_readable(page, "#pa-outline", at_least=1)
        assert_dataframe_columns_readable(page, "#pa-cap-dataframe", columns=7)
        assert_no_sideways_scroll(page, "热线查询")
        save_shot(page, shots, f"lookup-{width}")

        # 管理: the feedback Dataframe and the index status
        open_tab(page, "管理")
        page.wait_for_function("() => (document.querySelector('#pa-admin-health')?.innerText || '').includes('就绪')")
        assert_dataframe_columns_readable(page, "#pa-admin-feedback", columns=6)
        assert_no_sideways_scroll(page, "管理")
        save_shot(page, shots, f"admin-{width}")
    finally:
        context.close()
