"""The eval runner, answer files, question-file errors, the gate, reports, baselines and the CLI — with fakes."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from assistant.answer import Answer, Citation, RankedSection
from assistant.cli import main as cli_main
from evals import runner as runner_module
from evals.baselines import SectionSpan, Variant, VectorBaseline, run_baselines, section_keys_for_span
from evals.flag_keywords import flag_cases
from evals.gate import Thresholds, check, load_thresholds, parse_thresholds
from evals.metrics import EvalCase
from evals.questions_io import QuestionFileError, filter_tags, load_answers, load_cases, split_files
from evals.report import format_table, write_report
from evals.runner import ask_all, evaluate, evaluate_answers_file, grade_answers
from indexing.caps import Award
from indexing.retrieval.hits import ClauseHit

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    {"id": "t1", "turns": ["孵化器最多补多少"], "gold_clauses": ["十六"],
     "gold_caps": [{"clause": "十六", "amount_wan": 200, "qualifier": "最高"}], "must_refuse": False,
     "persona": "hotline", "tags": ["money", "hotline"], "note": ""},
    {"id": "t2", "turns": ["重点支持哪些领域", "动漫在里面吗"], "gold_clauses": ["chapter:一"], "gold_caps": [],
     "must_refuse": False, "persona": "entrepreneur", "tags": ["multi-turn", "chapter"], "note": ""},
    {"id": "t3", "turns": ["个税怎么退"], "gold_clauses": [], "gold_caps": [], "must_refuse": True,
     "persona": "entrepreneur", "tags": ["out-of-scope"], "note": ""},
    {"id": "t4", "turns": ["我们做VR游戏<script>alert(1)</script>"], "gold_clauses": ["十一"], "gold_caps": [],
     "must_refuse": False, "persona": "entrepreneur", "tags": ["business"], "note": "a | b"},
]


def answer_json(id: str, cited: list[str], refused: bool = False, text: str = "", caps: list[dict] | None = None,
                retrieved: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": id, "question": "", "rewritten_question": "", "answer": text,
        "citations": [{"doc": "d", "chapter": None, "clause": s, "section": s, "title": "", "quote": "",
                       "start": 0, "end": 0, "score": 0.5} for s in cited],
        "caps": caps or [], "refused": refused, "notices": [], "latency_ms": 12.0, "intent": "",
        "clarify": None, "expansion": [], "nearest": [],
        "retrieved": [{"section": s, "clause": s, "score": 0.9 - i * 0.1, "bm25_rank": i + 1, "dense_rank": None,
                       "matched_terms": ["孵化器"]} for i, s in enumerate(retrieved or cited)],
        "error": None,
    }


def typed_answer(cited: list[str], refused: bool = False, text: str = "", caps: tuple[Award, ...] = (),
                 retrieved: list[str] | None = None) -> Answer:
    """The typed answer ``answer_json`` writes as JSON (what the assistant returns to the runner)."""
    return Answer(
        question="", rewritten_question="", text=text, refused=refused, latency_ms=12.0, caps=list(caps),
        citations=[Citation("d", None, s, s, "", "", 0, 0, 0.5) for s in cited],
        retrieved=[RankedSection(ClauseHit("", s, 0.9 - i * 0.1, bm25_rank=i + 1, matched_terms=["孵化器"]))
                   for i, s in enumerate(retrieved or cited)],
    )


CANNED = {
    "孵化器最多补多少": typed_answer(["十六"], text="最高200万元",
                                    caps=(Award("十六", 200, "最高", "", "", "资助", "本措施", None, "", 0, 0),)),
    "动漫在里面吗": typed_answer(["chapter:一"]),
    "个税怎么退": typed_answer([], refused=True, retrieved=["二十五"]),
}


class FakeAssistant:
    """Implements what the runner uses of PolicyAssistant: ask(turns, id) and knowledge.caps.amounts()."""

    def __init__(self, canned: dict[str, Answer] = CANNED, **settings: Any) -> None:
        self.canned = canned
        self.settings = settings
        self.asked: list[tuple[list[str], str | None]] = []
        self.knowledge = SimpleNamespace(caps=SimpleNamespace(amounts=lambda: {100.0, 200.0, 500.0}))

    def ask(self, turns: list[str], id: str | None = None) -> Answer:
        self.asked.append((turns, id))
        if turns[-1] not in self.canned:
            raise RuntimeError("index exploded")
        return replace(self.canned[turns[-1]], id=id)


@pytest.fixture
def questions_file(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS) + "\n\n", encoding="utf-8")
    return path


@pytest.fixture
def cases(questions_file: Path) -> list[EvalCase]:
    return load_cases([questions_file])


# ---- runner --------------------------------------------------------------------------------------------
def test_runner_asks_every_turn_list_with_ids_and_grades(cases):
    fake = FakeAssistant()
    run = evaluate(fake, cases, {100.0, 200.0, 500.0}, "fake")
    assert fake.asked[1] == (["重点支持哪些领域", "动漫在里面吗"], "t2")
    assert [g.answer.id for g in run.graded] == ["t1", "t2", "t3", "t4"]
    # t4 raised: recorded as an error answer, graded wrong, the run went on.
    assert run.graded[3].answer.error == "RuntimeError: index exploded"
    assert run.graded[3].answer.latency_ms is not None and run.graded[0].answer.latency_ms == 12.0
    s = run.summary
    assert s.n == 4 and s.n_errors == 1
    assert s.top1_accuracy == pytest.approx(3 / 4)
    assert s.caps_accuracy == 1.0
    assert s.refusal_precision == 1.0 and s.refusal_recall == 1.0
    assert s.unsupported_amount_rate == 0.0
    assert run.to_json()["cases"][3]["reasons"][0].startswith("error: RuntimeError")


def test_grade_answers_accepts_a_list(cases):
    graded = grade_answers(cases, [dict(answer_json("t1", ["十七"]))])
    assert not graded[0].top1_correct
    assert graded[1].answer.error == "no answer for this id"


def test_typed_answers_are_graded_as_their_json_would_be(cases):
    answers = ask_all(FakeAssistant(), cases)
    assert all(isinstance(a, Answer) for a in answers) and answers[3].intent == "error"
    typed = grade_answers(cases, answers, {100.0, 200.0, 500.0})
    from_json = grade_answers(cases, [a.to_json() for a in answers], {100.0, 200.0, 500.0})
    assert typed == from_json


def test_answers_file_is_graded_by_id_without_the_assistant(cases, tmp_path):
    path = tmp_path / "answers.jsonl"
    rows = [answer_json("t3", [], refused=True), answer_json("t1", ["十六"], text="最高300万元"),
            answer_json("zzz", ["一"])]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    run, extra = evaluate_answers_file(cases, path, {100.0, 200.0, 500.0})
    assert extra == ["zzz"]
    by_id = {g.case.id: g for g in run.graded}
    assert by_id["t1"].top1_correct and by_id["t1"].unsupported_amounts == (300.0,)
    assert by_id["t3"].top1_correct
    assert by_id["t2"].answer.error == "no answer for this id"
    assert run.summary.unsupported_amount_rate == pytest.approx(1 / 4)


def test_answers_file_errors_name_the_line(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a"}\n{"answer": "no id"}\n', encoding="utf-8")
    with pytest.raises(QuestionFileError, match=r"a\.jsonl:2: .*id"):
        load_answers(path)
    path.write_text('{"id": "a"}\n\n{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(QuestionFileError, match=r"a\.jsonl:3: duplicate id 'a' \(first at line 1\)"):
        load_answers(path)


# ---- question files ------------------------------------------------------------------------------------
def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps(QUESTIONS[0], ensure_ascii=False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"bad\.jsonl:2: invalid JSON"),
        ("[1, 2]", r"bad\.jsonl:2: expected a JSON object"),
        (json.dumps({**QUESTIONS[1], "id": "x", "turns": []}), r"bad\.jsonl:2: \"turns\" must not be empty"),
        (json.dumps({"id": "x"}), r"bad\.jsonl:2: missing field\(s\): turns"),
        (json.dumps({**QUESTIONS[1], "id": "x", "gold_clauses": ["（十六）"]}), r"bad\.jsonl:2: bad clause key"),
        (json.dumps({**QUESTIONS[1], "id": "x", "persona": "robot"}), r"bad\.jsonl:2: \"persona\""),
        (json.dumps({**QUESTIONS[0], "id": "x", "gold_caps": [{"clause": "十六", "amount_wan": 200,
                                                             "qualifier": "至多"}]}), r"bad\.jsonl:2: .*qualifier"),
        (json.dumps({**QUESTIONS[0], "id": "x", "gold_caps": [{"clause": "十", "amount_wan": 5,
                                                             "qualifier": "按资助办法"}]}), r"must be null"),
        (json.dumps({**QUESTIONS[2], "id": "x", "gold_clauses": ["一"]}), r"must_refuse"),
        (json.dumps({**QUESTIONS[1], "id": "x", "must_refuse": "no"}), r"true or false"),
        (GOOD, r"bad\.jsonl:2: duplicate id 't1' \(first at .*bad\.jsonl:1\)"),
    ],
)
def test_malformed_question_lines_name_file_and_line(tmp_path, line, message):
    with pytest.raises(QuestionFileError, match=message):
        load_cases([_write(tmp_path, [GOOD, line])])


def test_missing_question_file(tmp_path):
    with pytest.raises(QuestionFileError, match="file not found"):
        load_cases([tmp_path / "nope.jsonl"])


def test_splits_and_tag_filter(cases):
    files = split_files("all")
    assert files[0].name == "train.jsonl" and files[-1].name == "dev.jsonl"
    # Every later writer's whole set is train-side (evals/questions/writers/<source>.jsonl); dev is never among them.
    assert all(p.parent.name == "writers" for p in files[1:-1])
    assert split_files("train") == files[:-1] and split_files("dev") == files[-1:]
    with pytest.raises(ValueError, match="train, dev, all"):
        split_files("test")  # type: ignore[arg-type]
    assert [c.id for c in filter_tags(cases, ["money", "business"])] == ["t1", "t4"]
    assert len(filter_tags(cases, None)) == 4


def test_the_shipped_question_sets_load():
    # Read-only: the sets are written by someone else; this only checks they parse under the contract.
    for split in ("train", "dev"):
        path = split_files(split)[0]
        if path.exists():
            assert load_cases([path])


# ---- gate ----------------------------------------------------------------------------------------------
def test_gate_lists_failing_metrics(cases):
    run = evaluate(FakeAssistant(), cases, {100.0, 200.0, 500.0}, "fake")
    thresholds = Thresholds({"top1_accuracy": 0.9, "caps_accuracy": 0.5, "mrr": 0.1}, {"unsupported_amount_rate": 0.0})
    failures = check(run.summary, thresholds)
    assert failures == ["top-1 accuracy (top1_accuracy) 0.750 < 0.900"]
    assert check(run.summary, Thresholds({"top1_accuracy": 0.75}, {})) == []


def test_gate_fails_on_unsupported_amounts_and_unmeasured_metrics(cases):
    answers = [answer_json("t1", ["十六"], text="最高300万元")]
    summary = runner_module.EvalRun("x", grade_answers(cases[:1], answers, {200.0})).summary
    failures = check(summary, Thresholds({"refusal_recall": 0.5}, {"unsupported_amount_rate": 0.0}))
    assert any("refusal_recall" in f and "not measured" in f for f in failures)
    assert any("unsupported_amount_rate) 1.000 > 0.000" in f for f in failures)


def test_threshold_file_is_validated(tmp_path):
    shipped = load_thresholds()
    assert shipped.maximum == {"unsupported_amount_rate": 0.0}
    assert {"top1_accuracy", "citation_f1_micro", "caps_accuracy", "refusal_recall"} <= set(shipped.minimum)
    with pytest.raises(ValueError, match="unknown metric 'accuracy'"):
        parse_thresholds({"min": {"accuracy": 0.5}}, "t.toml")
    with pytest.raises(ValueError, match="must be a number"):
        parse_thresholds({"min": {"mrr": "high"}}, "t.toml")
    both = parse_thresholds({"min": {"top1_accuracy": 0.9}, "languages": {"en": {"min": {"refusal_recall": 0.7}}}})
    assert both.minimum == {"top1_accuracy": 0.9} and both.languages["en"].minimum == {"refusal_recall": 0.7}
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        parse_thresholds({"languages": {"fr": {"min": {"top1_accuracy": 0.5}}}}, "t.toml")
    with pytest.raises(ValueError, match=r"unknown metric 'accuracy' in \[min\]"):
        parse_thresholds({"languages": {"zh": {"min": {"accuracy": 0.5}}}}, "t.toml")
    bad = tmp_path / "t.toml"
    bad.write_text("[min\n", encoding="utf-8")
    with pytest.raises(ValueError, match="invalid TOML"):
        load_thresholds(bad)


# ---- report --------------------------------------------------------------------------------------------
def test_report_writes_plots_markdown_and_escaped_html(cases, tmp_path):
    run = evaluate(FakeAssistant(), cases, {100.0, 200.0, 500.0}, "fake")
    other = evaluate(FakeAssistant(), cases, None, "other")
    files = write_report([run, other], tmp_path / "report", gate_failures=["top-1 accuracy <b>low</b>"])
    names = {f.name for f in files}
    assert {"report.md", "report.html", "accuracy_per_clause.png", "confusion.png", "latency.png",
            "scores_refused_vs_answered.png"} <= names
    for f in files:
        assert f.exists() and f.stat().st_size > 0
        if f.suffix == ".png":
            assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;low&lt;/b&gt;" in page
    assert "data:image/png;base64," in page          # self-contained
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "t4" in md and "a \\| b" in md
    assert "Wrong answers (1 of 4)" in md


def test_text_table_aligns_wide_characters():
    table = format_table(["标签", "n"], [["孵化器", "1"], ["ab", "10"]]).splitlines()
    assert len({len(line.encode("gbk")) for line in table}) == 1


# ---- baselines -----------------------------------------------------------------------------------------
def test_section_keys_for_span_largest_overlap_first():
    spans = [SectionSpan("preamble", 0, 10), SectionSpan("一", 12, 30), SectionSpan("二", 30, 100)]
    assert section_keys_for_span(spans, 5, 40) == ["一", "二", "preamble"]
    assert section_keys_for_span(spans, 10, 12) == []
    assert section_keys_for_span(spans, 0, 10) == ["preamble"]


class _Node:
    def __init__(self, start: int | None, end: int | None, doc: str = "m") -> None:
        self.start_char_idx, self.end_char_idx, self.ref_doc_id = start, end, doc


class _FakeRetriever:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def retrieve(self, query: str) -> list[Any]:
        self.queries.append(query)
        return [SimpleNamespace(node=_Node(25, 45), score=0.9), SimpleNamespace(node=_Node(None, None), score=0.8),
                SimpleNamespace(node=_Node(0, 20, "other"), score=0.7), SimpleNamespace(node=_Node(0, 40), score=0.6)]


def test_vector_baseline_maps_chunks_to_sections_and_keeps_other_documents_apart():
    spans = {"m": [SectionSpan("preamble", 0, 10), SectionSpan("一", 10, 30), SectionSpan("二", 30, 60)],
             "other": [SectionSpan("一", 0, 20)]}
    retriever = _FakeRetriever()
    baseline = VectorBaseline(retriever, spans, primary="m")
    data = baseline.ask(["第一轮", "第二轮"], id="q").to_json()
    assert retriever.queries == ["第一轮\n第二轮"]
    assert [r["section"] for r in data["retrieved"]] == ["二", "一", "other#一", "preamble"]
    assert data["citations"] == [] and data["id"] == "q"


def test_vector_baseline_builds_with_llama_index_on_the_real_corpus():
    from llama_index.core.base.embeddings.base import BaseEmbedding

    class CharEmbedding(BaseEmbedding):
        """Bag of characters hashed into 512 dims: a fake with the real llama-index interface."""

        def _vec(self, text: str) -> list[float]:
            v = [0.0] * 512
            for ch in text:
                v[hash(ch) % 512] += 1.0
            return v

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._vec(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._vec(text)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._vec(query)

    baseline = VectorBaseline.build(corpus_dir=ROOT / "corpus", embed_model=CharEmbedding(model_name="chars"))
    retrieved = baseline.ask(["孵化器和众创空间建设，孵化器资助期限"]).to_json()["retrieved"]
    sections = [r["section"] for r in retrieved]
    assert len(sections) == len(set(sections)) >= 20
    assert "十六" in sections[:3]


def test_run_baselines_runs_variants_and_skips_what_cannot_open(cases):
    opened: list[dict[str, Any]] = []
    skipped: list[str] = []

    def opener(**settings: Any) -> FakeAssistant:
        if settings["retriever"] == "dense":
            raise FileNotFoundError("no vectors")
        opened.append(settings)
        return FakeAssistant(**settings)

    variants = (Variant("bm25", "bm25"), Variant("dense", "dense"), Variant("hybrid-no-expansion", "hybrid", expand=False))
    runs = run_baselines(cases, variants=variants, opener=opener, vector_factory=lambda: FakeAssistant(),
                         on_skip=lambda label, exc: skipped.append(label))
    assert [r.label for r in runs] == ["bm25", "hybrid-no-expansion", "llama-index-vector"]
    assert skipped == ["dense"]
    assert opened[1] == {"retriever": "hybrid", "use_profiles": True, "expand": False}
    assert runs[-1].retrieval_only


# ---- CLI -----------------------------------------------------------------------------------------------
def test_cli_answers_mode_prints_json(questions_file, tmp_path, capsys):
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(json.dumps(answer_json(q, c)) for q, c in [("t1", ["十六"]), ("t2", ["一"])]),
                       encoding="utf-8")
    code = cli_main(["eval", str(questions_file), "--answers", str(answers), "--json"])
    out = capsys.readouterr()
    assert code == 0
    data = json.loads(out.out)
    assert data["n"] == 4
    assert data["summary"]["top1_accuracy"] == 0.25
    assert "2 题在答案文件中没有答案" in out.err


def test_cli_runs_the_assistant_prints_tables_and_gates(questions_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner_module, "open_assistant", lambda **kw: FakeAssistant(**kw))
    strict = tmp_path / "strict.toml"
    strict.write_text("[min]\ntop1_accuracy = 0.9\n[max]\nunsupported_amount_rate = 0.0\n", encoding="utf-8")
    code = cli_main(["eval", str(questions_file), "--gate", "--thresholds", str(strict), "--quiet",
                     "--report", str(tmp_path / "r")])
    out = capsys.readouterr()
    assert code == 1
    assert "top-1 accuracy (top1_accuracy) 0.750 < 0.900" in out.err
    assert "Per persona" in out.out and "Per tag" in out.out and "hybrid" in out.out
    assert (tmp_path / "r" / "report.html").exists()
    lenient = tmp_path / "lenient.toml"
    lenient.write_text("[min]\ntop1_accuracy = 0.5\n", encoding="utf-8")
    assert cli_main(["eval", str(questions_file), "--gate", "--thresholds", str(lenient), "--tag", "money"]) == 0


def test_cli_baselines_table(questions_file, capsys, monkeypatch):
    import evals.baselines as baselines_module

    monkeypatch.setattr(runner_module, "open_assistant", lambda **kw: FakeAssistant(**kw))
    monkeypatch.setattr(baselines_module.VectorBaseline, "build", classmethod(lambda cls, **kw: FakeAssistant()))
    assert cli_main(["eval", str(questions_file), "--baselines", "--quiet"]) == 0
    out = capsys.readouterr().out
    for label in ("bm25", "dense", "hybrid-no-profiles", "hybrid-no-expansion", "llama-index-vector"):
        assert label in out
    assert "tag 'business'" in out


def test_cli_malformed_question_file_is_one_line_error(tmp_path, capsys):
    bad = _write(tmp_path, [GOOD, "{oops"])
    assert cli_main(["eval", str(bad), "--answers", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{bad}:2: invalid JSON" in err


def test_cli_rejects_files_with_split_and_empty_tag_selection(questions_file, capsys):
    assert cli_main(["eval", str(questions_file), "--split", "dev"]) == 1
    assert cli_main(["eval", str(questions_file), "--tag", "nope", "--answers", str(questions_file)]) == 1
    assert "没有可评的" in capsys.readouterr().err


# ---- flag_keywords -----------------------------------------------------------------------------------------
def test_flag_keywords_finds_rare_words_shared_with_gold():
    tokens = {"十六": {"孵化器", "资助", "众创空间"}, "十七": {"基地", "资助"}, "九": {"直播", "基地", "资助"}}
    cases = [
        EvalCase("a", ("我们想做孵化器，有资助吗",), ("十六",), tags=("business",)),
        EvalCase("b", ("租一层楼给早期团队",), ("十六",), tags=("business",)),
        EvalCase("c", ("孵化器上限",), ("十六",), tags=("hotline",)),
    ]
    flags = flag_cases(cases, tokens, tokens_of, max_df=1)
    assert [(f.case_id, f.words) for f in flags] == [("a", (("孵化器", 1),))]


def tokens_of(text: str) -> list[str]:
    return [w for w in ("孵化器", "资助", "基地", "直播") if w in text]


# ---- import weight -------------------------------------------------------------------------------------
def test_eval_modules_import_nothing_heavy():
    code = (
        "import sys, evals.command, evals.runner, evals.metrics, evals.report, evals.baselines, evals.gate, "
        "evals.flag_keywords\n"
        "heavy = [m for m in ('matplotlib', 'llama_index', 'chromadb', 'torch', 'jieba') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_the_training_documents_are_scored_from_their_own_folder(tmp_path, capsys):
    """``eval --documents --training-documents`` indexes the training documents (not the test ones) beside the
    bundled measure and grades each set against its own document; the flag alone is refused."""
    from evals.document_questions import TRAINING_DOCUMENTS_DIR, TRAINING_QUESTIONS_DIR
    from evals.documents_eval import load_document_sets, run_documents

    assert cli_main(["eval", "--training-documents"]) == 1
    assert "--training-documents" in capsys.readouterr().err
    doc_id = "longgang-animation-game-measures"
    sets = load_document_sets([doc_id], with_dev=False, documents_dir=TRAINING_DOCUMENTS_DIR,
                              questions_dir=TRAINING_QUESTIONS_DIR)
    asked = [c for c in sets[doc_id] if "names-document" in c.tags and not c.must_refuse][:3]
    [run] = run_documents({doc_id: asked}, [doc_id], home=tmp_path / "home", documents_dir=TRAINING_DOCUMENTS_DIR)
    assert run.summary.n == 3
    assert {g.answer.cited_docs[0] for g in run.run.graded if g.answer.cited_docs} == {doc_id}
