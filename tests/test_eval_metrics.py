"""Eval metrics on hand-made cases: every number below was worked out by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.metrics import (
    MISSING_ANSWER,
    AnswerView,
    CapRecord,
    EvalCase,
    by_clause,
    by_persona,
    by_tag,
    confusion,
    grade,
    percentile,
    prf,
    section_sort_key,
    summarize,
    unsupported,
)

KNOWN = {100.0, 200.0, 500.0}


def case(id: str = "q", gold=("十六",), caps=(), must_refuse=False, persona="entrepreneur", tags=()) -> EvalCase:
    return EvalCase(id=id, turns=("问题",), gold_clauses=tuple(gold), gold_caps=tuple(caps),
                    must_refuse=must_refuse, persona=persona, tags=tuple(tags))


def answer(cited=(), refused=False, caps=(), text="", retrieved=None, latency=10.0, error=None, id="q") -> AnswerView:
    data: dict = {
        "id": id,
        "answer": text,
        "citations": [{"section": s, "clause": s} for s in cited],
        "caps": [{"clause": c, "amount_wan": a, "qualifier": q} for c, a, q in caps],
        "refused": refused,
        "latency_ms": latency,
        "error": error,
    }
    if retrieved is not None:
        data["retrieved"] = [{"section": s, "score": 1.0 - i / 10} for i, s in enumerate(retrieved)]
    return AnswerView.from_json(data)


# ---- top-1 --------------------------------------------------------------------------------------------
def test_top1_first_citation_must_be_gold():
    assert grade(case(), answer(["十六", "十七"])).top1_correct
    wrong = grade(case(), answer(["十七", "十六"]))
    assert not wrong.top1_correct
    assert wrong.recall == 1.0 and wrong.precision == 0.5
    assert any("first citation 十七" in r for r in wrong.reasons)


def test_top1_no_citation_or_refusal_is_wrong_for_answerable():
    assert not grade(case(), answer([])).top1_correct
    refused = grade(case(), answer([], refused=True))
    assert not refused.top1_correct
    assert "refused an answerable question" in refused.reasons


def test_refused_answer_to_must_refuse_question_is_fully_correct():
    g = grade(case(gold=(), must_refuse=True), answer([], refused=True))
    assert g.top1_correct
    assert (g.precision, g.recall, g.f1) == (1.0, 1.0, 1.0)
    assert g.exact_match and not g.wrong
    s = summarize([g])
    assert s.refusal_precision == 1.0 and s.refusal_recall == 1.0
    assert s.citation_f1_micro == 1.0


def test_must_refuse_answered_with_citations_counts_false_positives():
    g = grade(case(gold=(), must_refuse=True), answer(["十六"]))
    assert not g.top1_correct
    assert g.false_positives == ("十六",)
    assert (g.precision, g.recall, g.f1) == (0.0, 1.0, 0.0)
    assert "should have refused (out of scope) but answered" in g.reasons
    s = summarize([g])
    assert s.citation_precision_micro == 0.0
    assert s.refusal_recall == 0.0
    assert s.refusal_precision is None          # nothing refused: undefined, not 0 or 1


# ---- empty gold that is not a refusal (meta question answered from the title) ----------------------------
def test_empty_gold_not_refusal_nothing_cited_is_correct():
    g = grade(case(gold=()), answer([]))
    assert g.top1_correct
    assert (g.precision, g.recall, g.f1) == (1.0, 1.0, 1.0)
    assert g.exact_match


def test_empty_gold_not_refusal_citing_something_is_wrong():
    g = grade(case(gold=()), answer(["二十六"]))
    assert not g.top1_correct
    assert (g.precision, g.recall, g.f1) == (0.0, 1.0, 0.0)
    assert not g.exact_match
    assert "cited a clause where none is needed" in g.reasons


def test_empty_gold_not_refusal_refused_is_wrong_at_top1_but_citations_are_empty():
    g = grade(case(gold=()), answer([], refused=True))
    assert not g.top1_correct
    assert g.f1 == 1.0                        # citations graded separately from the refusal
    s = summarize([g])
    assert s.refusal_precision == 0.0 and s.refusal_recall is None


def test_prf_empty_gold_definition():
    assert prf([], []) == (1.0, 1.0, 1.0)
    assert prf(["一"], []) == (0.0, 1.0, 0.0)
    assert prf([], ["一"]) == (0.0, 0.0, 0.0)


# ---- chapter-level gold, duplicates ------------------------------------------------------------------------
def test_chapter_level_gold_matches_section_key():
    g = grade(case(gold=("chapter:一",)), answer(["chapter:一"]))
    assert g.top1_correct and g.exact_match
    assert not grade(case(gold=("chapter:一",)), answer(["一"])).top1_correct


def test_duplicate_citations_are_deduplicated():
    view = answer(["十六", "十六", "十七", "十六"])
    assert view.cited == ("十六", "十七")
    assert view.n_citations_raw == 4
    g = grade(case(), view)
    assert g.precision == 0.5 and g.recall == 1.0
    assert g.false_positives == ("十七",)


def test_citation_section_falls_back_to_clause_field():
    view = AnswerView.from_json({"citations": [{"clause": "九"}, {"section": "preamble", "clause": None}]})
    assert view.cited == ("九", "preamble")


# ---- micro vs macro, exact match -----------------------------------------------------------------------
def test_micro_and_macro_differ_as_computed_by_hand():
    a = grade(case("a", gold=("一", "二")), answer(["一"]))               # tp1 fn1: P1 R.5 F1 2/3
    b = grade(case("b", gold=("三",)), answer(["四", "五"]))              # fp2 fn1: P0 R0 F0
    c = grade(case("c", gold=("六",)), answer(["六"]))                    # tp1: 1 1 1
    s = summarize([a, b, c])
    # micro: tp=2 fp=2 fn=2 → P=R=F1=0.5
    assert s.citation_precision_micro == pytest.approx(0.5)
    assert s.citation_recall_micro == pytest.approx(0.5)
    assert s.citation_f1_micro == pytest.approx(0.5)
    # macro: mean of per-case values
    assert s.citation_precision_macro == pytest.approx((1 + 0 + 1) / 3)
    assert s.citation_recall_macro == pytest.approx((0.5 + 0 + 1) / 3)
    assert s.citation_f1_macro == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert s.exact_match == pytest.approx(1 / 3)
    assert s.top1_accuracy == pytest.approx(2 / 3)


def test_exact_match_ignores_order():
    assert grade(case(gold=("十一", "十九")), answer(["十九", "十一"])).exact_match
    assert not grade(case(gold=("十一", "十九")), answer(["十九"])).exact_match


# ---- retrieval -----------------------------------------------------------------------------------------
def test_recall_at_k_and_mrr_from_retrieved():
    g = grade(case(gold=("十一", "十九")), answer(["十一"], retrieved=["八", "十一", "十一", "九", "十", "十九"]))
    # duplicates removed: 八 十一 九 十 十九 → ranks 十一=2, 十九=5
    assert dict(g.gold_ranks) == {"十一": 2, "十九": 5}
    assert g.recall_at(1) == 0.0 and g.recall_at(3) == 0.5 and g.recall_at(5) == 1.0
    assert g.reciprocal_rank == 0.5
    assert not g.retrieval_top1_correct
    h = grade(case(gold=("九",)), answer(["九"], retrieved=["九"]))
    s = summarize([g, h])
    assert s.n_retrieval == 2
    assert s.recall_at_1 == pytest.approx(0.5)
    assert s.recall_at_3 == pytest.approx(0.75)
    assert s.recall_at_5 == pytest.approx(1.0)
    assert s.mrr == pytest.approx(0.75)
    assert s.retrieval_top1 == pytest.approx(0.5)


def test_gold_not_retrieved_gives_zero_and_a_reason():
    g = grade(case(gold=("九",)), answer(["八"], retrieved=["八", "十"]))
    assert g.reciprocal_rank == 0.0 and g.recall_at(5) == 0.0
    assert "gold 九 not cited, not retrieved" in g.reasons
    g2 = grade(case(gold=("九",)), answer(["八"], retrieved=["八", "九"]))
    assert "gold 九 not cited, retrieved at rank 2" in g2.reasons


def test_retrieval_metrics_skip_refusals_empty_gold_and_answers_without_a_list():
    refuse = grade(case(gold=(), must_refuse=True), answer([], refused=True, retrieved=["一"]))
    meta = grade(case(gold=()), answer([], retrieved=["一"]))
    no_list = grade(case(), answer(["十六"]))
    s = summarize([refuse, meta, no_list])
    assert s.n_retrieval == 0
    assert s.mrr is None and s.recall_at_5 is None


# ---- caps ----------------------------------------------------------------------------------------------
def test_caps_accuracy_matches_clause_amount_and_qualifier():
    gold = (CapRecord("十六", 200.0, "最高"), CapRecord("二十三", 100.0, "追加"), CapRecord("十", None, "按资助办法"))
    stated = [("十六", 200, "最高"), ("二十三", 100, "最高"), ("十", None, "按资助办法")]
    g = grade(case(gold=("十六", "二十三", "十"), caps=gold), answer(["十六"], caps=stated))
    assert g.caps_hit == (gold[0], gold[2])
    assert g.caps_missed == (gold[1],)            # right amount, wrong qualifier
    assert any("cap missing or wrong: （二十三）追加 100万元" in r for r in g.reasons)
    s = summarize([g])
    assert s.n_gold_caps == 3
    assert s.caps_accuracy == pytest.approx(2 / 3)


def test_caps_accuracy_wrong_amount_and_none_without_gold_caps():
    g = grade(case(caps=(CapRecord("十六", 200.0, "最高"),)), answer(["十六"], caps=[("十六", 500, "最高")]))
    assert summarize([g]).caps_accuracy == 0.0
    assert summarize([grade(case(), answer(["十六"]))]).caps_accuracy is None


# ---- unsupported amounts -----------------------------------------------------------------------------------
def test_unsupported_amount_in_text_or_caps_is_flagged():
    ok = grade(case(), answer(["十六"], text="给予最高200万元资助，即0.02亿元", caps=[("十六", 200, "最高")]), KNOWN)
    assert ok.unsupported_amounts == ()
    text_bad = grade(case(), answer(["十六"], text="最高可获300万元"), KNOWN)
    assert text_bad.unsupported_amounts == (300.0,)
    caps_bad = grade(case(), answer(["十六"], caps=[("十六", 250, "最高")]), KNOWN)
    assert caps_bad.unsupported_amounts == (250.0,)
    reply_bad = grade(case(), AnswerView.from_json({"answer": "", "reply": "三百万"}), KNOWN)
    assert reply_bad.unsupported_amounts == (300.0,)
    s = summarize([ok, text_bad, caps_bad, reply_bad])
    assert s.n_unsupported == 3
    assert s.unsupported_amount_rate == pytest.approx(0.75)


def test_english_amounts_are_checked_against_the_cap_table_too():
    ok = grade(case(), answer(["十六"], text="the funding is up to RMB 2 million (200万元)", caps=[("十六", 200, "最高")]), KNOWN)
    assert ok.unsupported_amounts == ()
    bad = grade(case(), answer(["十六"], text="the funding is up to RMB 3 million (200万元)"), KNOWN)
    assert bad.unsupported_amounts == (300.0,)


def test_english_money_answer_leads_with_the_cap():
    from evals.answer_quality import check_answer

    lead = "Under clause (16) Building digital creative incubators, the funding is up to RMB 2 million (200万元). More."
    assert check_answer(["How much?"], [(200.0, True)], lead, False).money_lead is True
    later = "Clause (16) is about incubators. The funding is up to RMB 2 million (200万元)."
    assert check_answer(["How much?"], [(200.0, True)], later, False).money_lead is False
    fund = "Under clause (19), the support is set per the 《资助办法》 (…); this measure states no amount."
    assert check_answer(["How much?"], [(None, True)], fund, False).money_lead is True


def test_amount_echoed_from_question_is_unsupported_but_told_apart():
    c = EvalCase("q", ("孵化器能补三百万吗",), ("十六",))
    g = grade(c, answer(["十六"], text="不能按300万元计，最高200万元；另有50万元"), KNOWN)
    assert g.unsupported_amounts == (300.0, 50.0)
    assert g.echoed_amounts == (300.0,) and g.invented_amounts == (50.0,)
    assert "unsupported amount 300万元 (echoed from the question)、50万元" in g.reasons
    s = summarize([g, grade(c, answer(["十六"], text="不能按300万元计"), KNOWN)])
    assert s.unsupported_amount_rate == 1.0          # strict: the gated metric counts echoes
    assert s.unsupported_invented_rate == 0.5


def test_unsupported_amount_not_checked_without_cap_table():
    g = grade(case(), answer(["十六"], text="300万元"), None)
    assert g.unsupported_amounts is None
    assert summarize([g]).unsupported_amount_rate is None


def test_unsupported_helper_rounds_and_dedupes():
    assert unsupported([200.00001, 300.0, 300.0], KNOWN) == (300.0,)


# ---- refusal, latency, errors ------------------------------------------------------------------------------
def test_refusal_precision_and_recall():
    graded = [
        grade(case("a", gold=(), must_refuse=True), answer([], refused=True)),   # TP
        grade(case("b", gold=(), must_refuse=True), answer(["一"])),              # FN
        grade(case("c"), answer([], refused=True)),                               # FP
        grade(case("d"), answer(["十六"])),                                        # TN
    ]
    s = summarize(graded)
    assert s.refusal_precision == 0.5 and s.refusal_recall == 0.5
    assert s.n_must_refuse == 2


def test_latency_percentiles_skip_errors():
    graded = [grade(case(str(i)), answer(["十六"], latency=v)) for i, v in enumerate([10, 20, 30, 40, 50])]
    graded.append(grade(case("e"), answer([], latency=9999, error="boom")))
    s = summarize(graded)
    assert s.latency_p50 == pytest.approx(30)
    assert s.latency_p95 == pytest.approx(48)
    assert s.n_errors == 1
    assert percentile([], 50) is None


def test_missing_answer_is_wrong_with_reason():
    g = grade(case(), AnswerView.missing("q"))
    assert not g.top1_correct
    assert f"error: {MISSING_ANSWER}" in g.reasons


def test_empty_summary_is_all_none():
    s = summarize([])
    assert s.n == 0 and s.top1_accuracy is None and s.citation_f1_micro is None


# ---- breakdowns --------------------------------------------------------------------------------------------
def test_breakdowns_per_persona_tag_and_clause():
    graded = [
        grade(case("a", gold=("十六",), persona="hotline", tags=("money", "hotline")), answer(["十六"])),
        grade(case("b", gold=("十六", "十七"), tags=("money", "business")), answer(["十七"], retrieved=["十七", "十六"])),
        grade(case("c", gold=("九",), tags=("business",)), answer(["八"])),
    ]
    personas = by_persona(graded)
    assert set(personas) == {"hotline", "entrepreneur"}
    assert personas["hotline"].top1_accuracy == 1.0
    assert personas["entrepreneur"].n == 2 and personas["entrepreneur"].top1_accuracy == 0.5
    tags = by_tag(graded)
    assert tags["money"].n == 2 and tags["business"].top1_accuracy == 0.5
    clauses = by_clause(graded)
    assert list(clauses) == ["九", "十六", "十七"]          # document order, not string order
    assert clauses["十六"].n == 2 and clauses["十六"].top1 == 2 and clauses["十六"].cited == 1
    assert clauses["十六"].retrieved_at_5 == 1 and clauses["十六"].n_retrieval == 1
    assert clauses["九"].top1_accuracy == 0.0


def test_confusion_counts_wrong_top1_only():
    graded = [
        grade(case("a", gold=("九",)), answer(["八"])),
        grade(case("b", gold=("九",)), answer(["八"])),
        grade(case("c", gold=("九",)), answer(["九"])),
        grade(case("d", gold=(), must_refuse=True), answer(["十"])),
        grade(case("e", gold=("一",)), answer([], refused=True)),
    ]
    assert confusion(graded) == {("九", "八"): 2, ("（应拒答）", "十"): 1, ("一", "（拒答）"): 1}


def test_section_sort_key_orders_document_sections():
    keys = ["二十六", "十", "preamble", "九", "chapter:一", "二"]
    assert sorted(keys, key=section_sort_key) == ["preamble", "chapter:一", "二", "九", "十", "二十六"]


def test_answer_view_tolerates_partial_json():
    view = AnswerView.from_json({"id": 7})
    assert view.id == "7" and view.cited == () and not view.retrieval_reported and view.latency_ms is None


# ---- properties ----------------------------------------------------------------------------------------------
KEYS = st.sampled_from(["一", "二", "三", "十六", "chapter:一", "preamble"])


@given(pred=st.lists(KEYS, max_size=6), gold=st.lists(KEYS, min_size=1, max_size=4, unique=True))
def test_prf_bounds_and_perfect_only_on_equal_sets(pred, gold):
    p, r, f = prf(list(dict.fromkeys(pred)), gold)
    assert 0.0 <= p <= 1.0 and 0.0 <= r <= 1.0 and 0.0 <= f <= 1.0
    assert (f == 1.0) == (set(pred) == set(gold))
    assert min(p, r) - 1e-9 <= f <= max(p, r) + 1e-9


# ---- answer quality ------------------------------------------------------------------------------
def test_answer_quality_rules_fail_the_old_template_and_pass_the_conclusion_first():
    from evals.answer_quality import check_answer

    old = ("根据《某措施》：\n（十六）建设数字创意孵化器\n   资助上限：最高200万元资助\n"
           "   需要确认：是否满足“具有”；是否满足“优秀”\n   匹配依据：您提到的“公司、一家、头显”")
    bad = check_answer(("孵化器最多补多少", "那能补几年？"), [(200.0, True)], old, refused=False)
    assert (bad.money_lead, bad.clean_match_terms, bad.whole_conditions, bad.followup_detail) == (False, False, False, False)
    new = ("按（十六）建设数字创意孵化器，资助期限不超过3年（最高可获200万元资助）。\n\n依据：\n"
           "   申请条件（原文）：“具有示范引领作用、发展模式清晰、运作良好的孵化器和众创空间”\n   匹配依据：您提到的“头显”")
    good = check_answer(("孵化器最多补多少", "那能补几年？"), [(200.0, True)], new, refused=False)
    assert (good.money_lead, good.clean_match_terms, good.whole_conditions, good.followup_detail) == (True, True, True, True)
    assert good.problems == ()
    # a cap the answer does not list is graded by caps accuracy, not by this rule; a refusal by none
    assert check_answer(("孵化器最多补多少",), [(500.0, False)], new, refused=False).money_lead is None
    assert check_answer(("x",), [(200.0, True)], "抱歉", refused=True).problems == ()


def test_answer_quality_rates_are_in_the_summary_and_the_gate():
    from evals.gate import load_thresholds

    text = "按（十六），最高可获200万元资助。\n\n依据条款：\n   匹配依据：您提到的“做、头显”"
    graded = [grade(case(caps=[CapRecord("十六", 200.0, "最高")]),
                    answer(cited=["十六"], caps=[("十六", 200.0, "最高")], text=text), KNOWN)]
    summary = summarize(graded)
    assert summary.quality_money_lead == 1.0 and summary.quality_match_terms == 0.0
    assert summary.quality_conditions is None and summary.n_quality_problems == 1
    minimum = load_thresholds().minimum
    assert all(minimum[name] == 1.0 for name in ("quality_money_lead", "quality_match_terms", "quality_conditions",
                                                  "quality_followup_detail"))


@pytest.mark.parametrize("question", ["我们是做孵化器的，最多能补多少？", "个税怎么退", "第十条", "哪些条款补得最多",
                                      "What is the cap for an incubator?", "我们做数字技术项目，能补多少？"])
def test_a_typed_answer_is_graded_as_its_json_reads(assistant, question):
    """The runner grades the typed answer; ``eval --answers`` grades the same answer read back from ``ask --jsonl``."""
    from assistant.answer import Answer

    answer = assistant.ask([question], id="q")
    assert AnswerView.of(answer) == AnswerView.from_json(answer.to_json())
    rejected = Answer.rejected(question, "问题为空，请输入您想咨询的内容。", "q")
    assert AnswerView.of(rejected) == AnswerView.from_json(rejected.to_json())
