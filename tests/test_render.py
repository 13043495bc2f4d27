"""ui/render.py and ui/match_summary.py: escaping, highlight offsets, cap tables, the matching summary — pure functions
over the assistant's typed answers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.answer import Answer, Citation, Clarify, ClarifyOption
from assistant.section_view import SearchHit, SearchResult, SectionView
from indexing.caps import Award
from ui import health_view, match_summary, render
from ui.text_markup import Span, highlight, locate_quote, md_escape

EVIL = '<script>alert(1)</script> ![x](http://evil/x.png) <img src=x onerror=alert(2)> "quoted" & ${x} {{value}}'


def _award(clause: str, amount_wan: float | None, qualifier: str, target: str, basis: str = "本措施",
           term: str = "", kind: str = "资助") -> Award:
    return Award(clause=clause, amount_wan=amount_wan, qualifier=qualifier, term=term, target=target,  # type: ignore[arg-type]
                 kind=kind, basis=basis, basis_doc=None, quote="", start=0, end=0)


def _answer(**overrides) -> Answer:
    answer = Answer(
        id="a1",
        question="孵化器最多能补多少？",
        rewritten_question="",
        text="根据（十六），孵化器最高200万元。",
        citations=[Citation(doc="d", chapter="七", clause="十六", section="十六", title="建设数字创意孵化器",
                            quote="给予最高200万元资助", start=10, end=20, score=1.0)],
        caps=[_award("十六", 200, "最高", "孵化器和众创空间", term="资助期限不超过3年")],
    )
    return replace(answer, **overrides)


@pytest.mark.parametrize("module", [render, match_summary, health_view])
def test_render_modules_import_no_web_framework(module):
    source = open(module.__file__, encoding="utf-8").read()
    assert "import gradio" not in source and "fastapi" not in source


@pytest.mark.parametrize("fn", [render.esc, render.text_block])
def test_user_text_is_escaped(fn):
    out = fn(EVIL)
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;" in out
    assert "&quot;quoted&quot;" in out or "quoted" in out


def test_markdown_escape_defuses_images_and_links():
    out = md_escape("![x](http://evil/x.png) [a](b) **bold** <b>")
    assert "![" not in out and "](" not in out
    assert r"\!\[x\]\(http://evil/x\.png\)" in out
    assert "<b>" not in out
    assert "\n" not in md_escape("a\nb")


def test_chat_html_escapes_user_and_answer_text():
    messages = [
        {"role": "user", "text": EVIL},
        {"role": "assistant", "text": None, "answer": _answer(text=EVIL, question=EVIL), "final": True},
    ]
    out = render.chat_html(messages, known_sections=["十六"])
    assert "<script" not in out and "<img" not in out
    assert out.count("&lt;script&gt;") == 2
    assert "![x](http://evil/x.png)" in out  # as literal text, inside no <img>


def test_answer_html_has_chips_cap_table_and_feedback():
    out = render.answer_html(_answer(), index=3, known_sections=["十六"])
    assert 'class="pa-chip" data-section="十六"' in out
    assert "（十六）建设数字创意孵化器" in out
    assert '<table class="pa-caps">' in out and "最高200万元" in out and "资助期限不超过3年" in out
    assert 'data-rating="down" data-index="3"' in out
    # （十六） inside the answer text becomes a chip too
    assert '<button type="button" class="pa-ref" data-section="十六">（十六）</button>' in out


def test_unknown_clause_refs_in_text_stay_text():
    out = render.link_clause_refs("见（九十九）", known=["十六"])
    assert out == "见（九十九）"


def test_streaming_answer_shows_text_only():
    out = render.answer_html(_answer(), text="根据（十六）", final=False)
    assert "pa-cursor" in out and "<table" not in out and "pa-chip" not in out


def test_error_answer_renders_message_escaped():
    out = render.answer_html(_answer(error="<b>太长</b>"))
    assert "&lt;b&gt;太长&lt;/b&gt;" in out and "<b>" not in out


def test_clarify_options_are_buttons_with_escaped_labels():
    clarify = Clarify("您指哪一种？", (ClarifyOption("孵化器<x>", "十六"), ClarifyOption("基地", "十七")))
    out = render.clarify_html(clarify)
    assert out.count('class="pa-option"') == 2
    assert 'data-option="孵化器&lt;x&gt;"' in out and "<x>" not in out


def test_cap_table_columns_and_escaping():
    caps = [
        _award("二十三", 100, "追加", "省级<平台>", basis="深圳市文化产业发展专项资金资助办法"),
        _award("十", None, "按资助办法", "动漫作品", basis="深圳市文化产业发展专项资金资助办法"),
    ]
    out = render.cap_table_html(caps)
    for header in ("条款", "金额", "限定", "期限", "对象", "依据"):
        assert f"<th>{header}</th>" in out
    assert out.count("<tr>") == 3  # header + 2 rows
    assert "省级&lt;平台&gt;" in out
    assert "（二十三）" in out and "追加" in out
    assert render.cap_table_html([]) == ""
    assert "未写明" in render.cap_table_html([], empty="本条未写明资助金额")
    assert render.cap_rows(caps)[0][:3] == ["（二十三）", caps[0].amount_text, "追加"]
    assert caps[0].amount_text == "在《深圳市文化产业发展专项资金资助办法》资助基础上追加100万元"


def test_cap_table_cells_carry_their_column_name_for_the_card_layout():
    import re

    cap = _award("十六", 200, "最高", "孵化器<和>众创空间", term="资助期限不超过3年")
    out = render.cap_table_html([cap])
    labels = re.findall(r'<td class="[^"]+" data-label="([^"]*)">', out)
    assert labels == [label for _, label in render.CAP_COLUMNS]   # one per column, in header order
    assert 'data-label="对象">孵化器&lt;和&gt;众创空间</td>' in out


def test_highlight_uses_raw_offsets_and_escapes_inside_and_outside():
    text = "a<b>给予最高200万元资助，c&d"
    start = text.index("给予")
    end = start + len("给予最高200万元资助")
    out = highlight(text, [Span(start, end)])
    assert out == "a&lt;b&gt;<mark>给予最高200万元资助</mark>，c&amp;d"


def test_highlight_merges_overlaps_and_clips():
    out = highlight("abcdef", [Span(1, 3), Span(2, 4), Span(5, 99), Span(4, 4)])
    assert out == "a<mark>bcd</mark>e<mark>f</mark>"


def test_locate_quote_prefers_offsets_then_searches():
    text = "甲。给予最高200万元资助。乙。"
    quote = "给予最高200万元资助。"
    base = 100
    exact = locate_quote(text, quote, base + 2, base + 2 + len(quote), base)
    assert exact == Span(2, 2 + len(quote))
    # wrong offsets: fall back to search
    assert locate_quote(text, quote, 0, 5, base) == Span(2, 2 + len(quote))
    assert locate_quote(text, "不存在", None, None, base) is None


def test_clause_html_with_real_clause_marks_the_quote(knowledge):
    section = knowledge.resolve("十六")
    view = knowledge.section_view(section)
    sentence = next(s for s in section.sentences if "200万元" in s.text)
    quote = Citation("d", None, "十六", "十六", "", sentence.text, sentence.start, sentence.end, 1.0)
    out = render.clause_html(view, quotes=[quote], draft=True)
    assert f"<mark>{render.esc(sentence.text)}</mark>" in out
    assert "建设数字创意孵化器" in out and "最高200万元" in out
    assert "征求意见稿" in out
    # the text outside the mark is the rest of the clause
    assert out.count("<mark>") == 1


def test_clause_html_chapter_and_linked_documents(knowledge):
    chapter = knowledge.section_view(knowledge.resolve("第一章"))
    out = render.clause_html(chapter)
    assert "第一部分" in out and "重点支持领域" in out
    linked = knowledge.section_view(knowledge.resolve("十"))
    out = render.clause_html(linked)
    assert "关联文件" in out and "全文不在语料中" in out


def test_outline_lists_all_sections(knowledge):
    doc = knowledge.primary.document
    chapters = []
    for chapter in doc.chapters:
        heading = "附则" if chapter.key == "附则" else f"{chapter.key}、{chapter.title}"
        chapters.append({"heading": heading, "sections": [knowledge.section_view(doc.section(k)) for k in chapter.section_keys]})
    out = render.outline_html(chapters)
    assert out.count('class="pa-outline-section"') == sum(len(c["sections"]) for c in chapters)
    assert "附则" in out and "（二十六）" in out and 'data-section="chapter:一"' in out
    # a clause's badge is its first award's amount as the cap table words it
    assert f'（十六）建设数字创意孵化器 <span class="pa-badge">{render.esc(knowledge.awards("十六")[0].amount_text)}</span>' in out


def test_stream_chunks_are_growing_prefixes_ending_in_full_text():
    text = "根据（十六），孵化器最高200万元。资助期限不超过3年；以正式文本为准。"
    chunks = render.stream_chunks(text, size=8)
    assert chunks[-1] == text
    assert all(text.startswith(c) for c in chunks)
    assert all(len(a) < len(b) for a, b in zip(chunks, chunks[1:], strict=False))
    assert render.stream_chunks("") == [""]


def test_search_results_and_composed_reply():
    view = SectionView(doc="d", doc_title="某措施", status="征求意见稿", clause="十六", chapter="七", chapter_title="",
                       section="十六", label="（十六）", title="建设数字创意孵化器",
                       text="（十六）建设数字创意孵化器。给予最高200万元资助", start=0, end=25, caps=tuple(_answer().caps))
    result = SearchResult("孵化器上限", "孵化器上限", [], [SearchHit(view, 0.9, ["孵化器"], via=["text"])])
    out = render.search_results_html(result)
    assert "（十六）建设数字创意孵化器" in out
    assert "<b>孵化器</b>" in out and "最高200万元" in out and "命中：孵化器" in out
    reply = render.compose_reply(result)
    assert "（十六）" in reply and "最高200万元" in reply and "征求意见稿" in reply
    assert "未找到" in render.compose_reply(SearchResult("x", "x", [], []))
    assert "没有找到" in render.search_results_html(SearchResult("<x>", "<x>", [], []), {})


def test_match_markdown_is_escaped_and_complete():
    answer = _answer(text="可申请（十六）。\n需准备：运营报告")
    md = match_summary.match_markdown(answer, {"行业": "孵化器", "主要业务": "![x](http://evil/x.png)", "计划": ""}, "某措施")
    assert md.startswith("# 政策匹配摘要")
    assert "| （十六）建设数字创意孵化器 | 最高200万元 | 资助期限不超过3年 |" in md
    assert "![x](http://evil" not in md
    assert "（未填写）" in md and "需准备：运营报告" in md and "征求意见稿" in md
    html_out = match_summary.match_html(answer, {"行业": "<b>x</b>"})
    assert "&lt;b&gt;x&lt;/b&gt;" in html_out and "最高200万元" in html_out
    lines = match_summary.match_plain_lines(answer, {"行业": "孵化器"}, "某措施")
    assert "（十六）建设数字创意孵化器" in lines and "· 条件（原文）：给予最高200万元资助" in lines
    assert "· 最高200万元，资助期限不超过3年；对象：孵化器和众创空间；依据：本措施" in lines
    uncapped = match_summary.match_markdown(_answer(caps=[]), {}, "某措施")
    assert "| （十六）建设数字创意孵化器 | 未写明金额 | — | — | — |" in uncapped


def test_section_labels():
    assert render.section_label("十六", "建设数字创意孵化器") == "（十六）建设数字创意孵化器"
    assert render.section_label("chapter:一") == "第一部分"
    assert render.section_label("chapter:附则") == "附则"
    assert render.section_label("preamble") == "序言"


def _shaped(notice: str = "本措施为征求意见稿。") -> Answer:
    return _answer(text=f"按（十六）建设数字创意孵化器，最高可获200万元资助。\n\n依据条款：\n（十六）建设数字创意孵化器\n"
                          f"   原文：“给予最高200万元资助”\n提示：{notice}", notices=[notice])


def test_answer_html_shows_the_conclusion_and_keeps_the_long_form_one_click_away():
    out = render.answer_html(_shaped(), known_sections=["十六"])
    main, _, more = out.partition('<details class="pa-more">')
    assert "最高可获200万元资助" in main and "原文：" not in main
    assert "原文：" in more and '<table class="pa-caps">' in more


def test_chat_shows_the_draft_notice_once_per_conversation():
    notice = "本措施为征求意见稿。"
    messages = [{"role": "user", "text": "孵化器最多补多少"}, {"role": "assistant", "answer": _shaped(notice), "final": True},
                {"role": "user", "text": "那能补几年"}, {"role": "assistant", "answer": _shaped(notice), "final": True}]
    out = render.chat_html(messages, known_sections=["十六"])
    assert out.count(notice) == 1


def test_streaming_shows_only_the_conclusion():
    out = render.answer_html(_shaped(), text=_shaped().text, final=False)
    assert "最高可获200万元资助" in out and "原文：" not in out


def _english(notice: str = "The measure is a draft for comment (征求意见稿).") -> Answer:
    text = ("Under clause (16) Building digital creative incubators, the funding is up to RMB 2 million (200万元).\n\n"
            "Clauses cited:\nClause (16) Building digital creative incubators\n"
            f"   Original text (原文): “给予最高200万元资助”\nNote: {notice}")
    return _answer(text=text, notices=[notice], lang="en", question="How much can an incubator get?")


def test_english_answer_has_english_chrome_and_clause_chips():
    out = render.answer_html(_english(), known_sections=["十六"])
    main, _, more = out.partition('<details class="pa-more">')
    assert 'lang="en"' in out and "Clauses cited:" in out and "Details: original text" in more
    assert "引用条款" not in out and "详细依据" not in out
    assert "RMB 2 million" in main and "Original text" not in main and "原文）" not in main
    # "clause (16)" in an English answer becomes a chip like （十六） does in a Chinese one
    assert '<button type="button" class="pa-ref" data-section="十六">clause (16)</button>' in main
    assert "Note:" not in main + more                      # the notice is shown once, apart from the text


def test_english_answer_text_is_escaped():
    out = render.answer_html(replace(_english(), text=EVIL), known_sections=["十六"])
    assert "<script" not in out and "<img" not in out and "&lt;script&gt;" in out


def test_chinese_answer_keeps_its_chinese_chrome():
    out = render.answer_html(_answer(), known_sections=["十六"])
    assert "引用条款：" in out and 'lang="zh"' in out and "Clauses cited" not in out


def test_health_html_escapes_documents_and_names_their_index_state():
    health = {"ready": True, "counts": {"clauses": 26}, "problems": [EVIL],
              "documents": [{"id": "d", "title": EVIL, "status": "征求意见稿", "clauses": 26, "awards": 3,
                             "source": "bundled", "index_state": "changed", "indexed_chunks": 5,
                             "linked": [{"title": "资助办法", "in_corpus": True}]}]}
    out = health_view.health_html(health)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "就绪" in out and "条款" in out and "已改动，待重建" in out and "关联已收入：资助办法" in out
