"""The test documents' blind second labelling (``evals.second_labels``): complete, and graded as its docstring says."""

from __future__ import annotations

import pytest

from evals.document_questions import DOCUMENT_QUESTIONS_DIR, fixture_document_ids, question_file
from evals.metrics import AnswerView, grade
from evals.questions_io import load_cases
from evals.second_labels import SecondLabelling, grade_second

NOTICE = "application-notice-2023"


def _cases(set_name: str) -> dict:
    return {c.id: c for c in load_cases([question_file(set_name, DOCUMENT_QUESTIONS_DIR)])}


@pytest.mark.parametrize("set_name", fixture_document_ids())
def test_every_question_of_a_test_document_is_labelled_with_sections_that_exist(set_name, knowledge):
    from evals.document_questions import DOCUMENTS_DIR
    from indexing.parser import parse_policy

    labelling = SecondLabelling.load(DOCUMENT_QUESTIONS_DIR, set_name)
    assert labelling is not None
    assert set(labelling.labels) == set(_cases(set_name))
    sections = {f"{knowledge.primary.meta.id}#{s.key}" for s in knowledge.primary.document.sections}
    for doc in fixture_document_ids():
        text = (DOCUMENTS_DIR / doc / f"{doc}.txt").read_text(encoding="utf-8")
        sections |= {f"{doc}#{s.key}" for s in parse_policy(text, doc).sections}
    for label in labelling.labels.values():
        assert set(label.answered_by) <= sections and set(label.partial) <= sections
        assert label.not_covered == (not label.answered_by)
    for resolution in labelling.resolutions.values():
        assert set(resolution.answered_by) <= sections


def _answer(case, *cited: str, refused: bool = False) -> AnswerView:
    """An answer citing ``doc#key`` sections (graded relative to the question's document, as the runner does)."""
    docs, keys = zip(*(c.split("#", 1) for c in cited), strict=True) if cited else ((), ())
    return AnswerView(id=case.id, cited=tuple(keys), cited_docs=tuple(docs), refused=refused)


def test_graded_against_both_labellings():
    cases = _cases(NOTICE)
    labelling = SecondLabelling.load(DOCUMENT_QUESTIONS_DIR, NOTICE)
    assert labelling is not None
    answers = [
        # The second labeller found the bundled measure's (九) answering the cap only: not a right first citation...
        (cases["dq-notice-016"], ("sz-digital-creative-2022#九", f"{NOTICE}#一/四")),
        # ...the writer's gold is, wherever it sits.
        (cases["dq-notice-039"], (f"{NOTICE}#三/一",)),
        # Another section of the notice.
        (cases["dq-notice-057"], (f"{NOTICE}#七/二",)),
        # Written as not covered, resolved from the text: the 资助办法 states the 贴息 term.
        (cases["dq-notice-072"], ("fund-measures-standin#二十二",)),
        # Resolved as dropped: left out whatever the answer.
        (cases["dq-notice-056"], (f"{NOTICE}#六/四",)),
        # Not covered for both: declined is right, an answer is not.
        (cases["dq-notice-009"], ()),
        (cases["dq-notice-065"], (f"{NOTICE}#一/一",)),
    ]
    graded = [grade(case, _answer(case, *cited, refused=not cited)) for case, cited in answers]
    figures = grade_second(graded, labelling)
    assert (figures.n, figures.answerable, figures.first_answers) == (6, 4, 2)
    assert (figures.not_covered, figures.declined) == (2, 1)
    assert (figures.fails_same_document, figures.fails_other_document, figures.fails_declined) == (1, 1, 0)
    assert (figures.dropped, figures.unresolved) == (1, 0)
    assert figures.top1 == pytest.approx(3 / 6)
    # The writer's gold alone counts 072 wrong (it is "not covered" there), 056 right, and 016 right only when 一/四
    # leads.
    assert [g.top1_correct for g in graded] == [False, True, False, False, True, True, False]


def test_a_set_without_a_second_labelling_has_none(tmp_path):
    assert SecondLabelling.load(tmp_path, NOTICE) is None
    (tmp_path / "blind-labels").mkdir()
    (tmp_path / "blind-labels" / f"{NOTICE}.jsonl").write_text('{"id": "x", "answered_by": []}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="lacks"):
        SecondLabelling.load(tmp_path, NOTICE)


@pytest.mark.slow
def test_eval_documents_reports_the_second_labelling_beside_the_writers_gold(tmp_path):
    from evals.documents_eval import render_rows, run_documents

    cases = _cases(NOTICE)
    asked = [cases[i] for i in ("dq-notice-016", "dq-notice-039", "dq-notice-056", "dq-notice-072", "dq-notice-009")]
    [run] = run_documents({NOTICE: asked}, [NOTICE], home=tmp_path / "home")
    row = run.row()
    second = row["second_labelled"]
    assert second["n"] + second["dropped"] + second["unresolved"] == len(asked) and second["dropped"] == 1
    assert second["answerable"] == 3 and second["not_covered"] == 1
    assert row["top1_second_labelled"] == second["top1"] == run.second.top1
    assert f"| {NOTICE} | 5 |" in render_rows([row]) and f"({second['n']}) |" in render_rows([row])
    # A set without a second labelling (the training documents, the dev split) reports none.
    [unlabelled] = run_documents({"dev": asked[:1]}, [NOTICE], home=tmp_path / "home2", questions_dir=tmp_path)
    assert unlabelled.second is None and unlabelled.row()["second_labelled"] is None
    assert render_rows([unlabelled.row()]).rstrip().endswith("| — |")
