"""Linked regulations: the bundled measure defers amounts to 《深圳市文化产业发展专项资金资助办法》 (深府规〔2020〕2号).

With that document indexed — here the stand-in of ``evals/documents/fund-measures-standin/``, a FICTIONAL test fixture
written for these tests, not the real text — the link resolves to it (by title, alias or 文号, from metadata), and an
answer citing a deferring clause also cites the stand-in's article that sets the award, with its caps and document;
without it, answers name the document with its 文号 as before.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.knowledge import KnowledgeBase
from assistant.linked_articles import deferrals, find_article
from evals.document_questions import DOCUMENTS_DIR
from evals.documents_eval import stage_documents
from indexing.corpus import CorpusDocument, load_corpus, load_document
from indexing.links import LinkResolver, normalize_doc_number
from indexing.section_ref import SectionRef

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
PRIMARY = "sz-digital-creative-2022"
FUND = "fund-measures-standin"           # the stand-in's own id: not the id the bundled [[linked]] gives
FUND_LINK = "sz-cultural-industry-fund-measures"
FUND_TITLE = "深圳市文化产业发展专项资金资助办法"
FUND_FILE = DOCUMENTS_DIR / FUND / f"{FUND}.txt"
# The bundled clauses that defer to the fund's measures, and the stand-in's article that sets each award
# (checked by hand against both texts: 动漫 → 第十二条, 新型游戏 → 第十三条, 新业态 → 第十四条, 出口 → 第十七条,
# 省级公共服务平台 → 第十九条).
DEFERRING = {"十": "十二", "十一": "十三", "十二": "十四", "十九": "十七", "二十三": "十九"}
EXPORT_QUESTION = "数字创意产品出口有什么支持？"


def fund_document(**meta: object) -> CorpusDocument:
    """The stand-in, with some of its metadata replaced (title, aliases, 文号) to test how links resolve."""
    document = load_document(FUND_FILE)
    return dataclasses.replace(document, meta=dataclasses.replace(document.meta, **meta))


def fund_link(kb_documents: list[CorpusDocument]):  # type: ignore[no-untyped-def]
    return next(link for link in kb_documents[0].meta.linked if link.id == FUND_LINK)


# ---- resolving links from metadata --------------------------------------------------------------------
def test_doc_numbers_compare_in_one_spelling():
    assert normalize_doc_number("深府规〔2020〕2号") == "深府规〔2020〕2号"
    assert normalize_doc_number("深府规[2020]2号") == normalize_doc_number("深府规（2020）02号") == "深府规〔2020〕2号"
    # A note after the number (the bundled metadata marks one 文号 未核实) is no part of it.
    assert normalize_doc_number("深府〔2022〕1号（未核实）") == "深府〔2022〕1号"


@pytest.mark.parametrize("meta, how", [
    ({}, "the stand-in's title is the link's title"),
    ({"title": "深圳市文化产业专项资金资助办法", "aliases": ()}, "its title is one of the link's aliases"),
    ({"title": "文化产业专项资金管理办法（修订）", "aliases": ("深圳市文化产业发展专项资金资助办法",)},
     "the link's title is one of its aliases"),
    ({"title": "专项资金办法", "aliases": (), "doc_number": "深府规[2020]2号"}, "its 文号, written with other brackets"),
    ({"title": "专项资金办法", "aliases": ("深府规〔2020〕2号",), "doc_number": ""}, "its 文号 given as an alias"),
])
def test_an_added_document_links_by_title_alias_or_doc_number(meta, how):
    bundled = load_corpus(CORPUS)
    documents = [*bundled, fund_document(**meta)]
    assert LinkResolver(documents).target(fund_link(bundled), PRIMARY) == FUND, how
    assert KnowledgeBase(documents).has_document(fund_link(bundled), PRIMARY)


def test_short_aliases_alone_never_link_and_a_document_never_links_to_itself():
    bundled = load_corpus(CORPUS)
    # "资助办法" is an alias of both the link and this document, but the titles and 文号 differ: another document.
    other = fund_document(title="深圳市某区文化产业资助办法", aliases=("资助办法",), doc_number="深某府规〔2021〕9号")
    resolver = LinkResolver([*bundled, other])
    assert resolver.target(fund_link(bundled), PRIMARY) is None
    assert not KnowledgeBase([*bundled, other]).has_document(fund_link(bundled))
    # The bundled measure alone: none of its links resolves (to itself or anything else).
    alone = LinkResolver(bundled)
    assert [alone.target(link, PRIMARY) for link in bundled[0].meta.linked] == [None] * len(bundled[0].meta.linked)


# ---- finding the article a clause defers to ----------------------------------------------------------
@pytest.fixture(scope="module")
def fund_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus plus the stand-in where ``index --add`` keeps it, indexed once with the bundled model."""
    from indexing.build import build_index
    from indexing.config import IndexConfig

    home = tmp_path_factory.mktemp("fund-home")
    stage_documents(home, [FUND])
    build_index(IndexConfig(home=home, corpus_dir=CORPUS))
    return home


@pytest.fixture(scope="module")
def with_fund(fund_home: Path):
    from assistant.service import PolicyAssistant
    from indexing.config import IndexConfig

    return PolicyAssistant.open(index_config=IndexConfig(home=fund_home, corpus_dir=CORPUS))


def test_each_deferring_clause_finds_the_article_that_sets_its_award(with_fund):
    kb = with_fund.knowledge
    for clause, article in DEFERRING.items():
        ref = SectionRef(PRIMARY, "clause", clause)
        [(link, target)] = list(deferrals(kb, ref))
        assert (link.id, target) == (FUND_LINK, FUND)
        found = find_article(kb, with_fund.retriever, "", ref, link, target)
        assert found is not None and found.ref == SectionRef(FUND, "clause", article), clause


def test_a_clause_on_another_subject_finds_no_article_relevant_enough(with_fund):
    # （十六）孵化器 and （十五）产学研平台 defer to nothing; asked of the stand-in anyway, no article of it is close enough
    # (the best ones share only the words every award article has): a random article is never cited.
    kb = with_fund.knowledge
    link = fund_link(kb.documents)
    for clause in ("十六", "十五", "三"):
        assert find_article(kb, with_fund.retriever, "最多能拿多少资助", SectionRef(PRIMARY, "clause", clause), link, FUND) is None


# ---- answers --------------------------------------------------------------------------------------------
def _ask_cli(home: Path, *args: str) -> dict:
    env = {**os.environ, "POLICY_ASSISTANT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("POLICY_ASSISTANT_CORPUS", None)
    done = subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300, check=True)
    return json.loads(done.stdout)


def test_the_cli_answer_cites_the_clause_then_the_article_it_defers_to(fund_home):
    answer = _ask_cli(fund_home, "ask", "--json", EXPORT_QUESTION)
    cited = [(c["doc"], c["section"], c["linked_from"]) for c in answer["citations"]]
    assert cited[:2] == [(PRIMARY, "十九", None), (FUND, "十七", {"doc": PRIMARY, "section": "十九"})]
    article = answer["citations"][1]
    assert article["document"]["doc_number"] == "深府规〔2020〕2号" and "出口收入的5%" in article["quote"]
    # The article's cap comes from the cap table with its document; the clause's deferral stays as it was.
    caps = [(c["doc"], c["clause"], c["amount_wan"], c["qualifier"]) for c in answer["caps"]]
    assert (PRIMARY, "十九", None, "按资助办法") in caps and (FUND, "十七", 300, "按比例") in caps
    # Which document says what: the measure's clause first, then the standard the stand-in sets.
    lead = answer["answer"].split("\n")[0]
    assert lead.index("（十九）") < lead.index(f"具体标准见《{FUND_TITLE}》第十七条：按企业上一年度该项目出口收入的5%给予资助，最高300万元")
    assert f"依据：《{FUND_TITLE}》" in answer["answer"]      # the article's cap names its own document
    assert "全文不在本助手的资料库中" not in answer["answer"]
    assert [(d["id"], d["in_corpus"]) for d in answer["linked"]] == [(FUND_LINK, True)]


def test_a_clause_and_the_article_it_defers_to_are_one_rule_not_a_choice(with_fund):
    answer = with_fund.ask(["新型游戏研发项目最多能拿多少资助？"])
    assert answer.clarify is None
    articles = [c for c in answer.citations if (c.doc, c.section) == (FUND, "十三")]
    assert len(articles) == 1 and articles[0].linked_from == SectionRef(PRIMARY, "clause", "十一")
    assert f"《{FUND_TITLE}》第十三条" in answer.reply and "（十一）" in answer.reply


def test_the_english_answer_says_the_same_with_the_same_citations(with_fund):
    chinese = with_fund.ask([EXPORT_QUESTION])
    english = with_fund.ask(["What support is there for exporting digital creative products?"])
    assert english.lang == "en"
    assert [(c.doc, c.section) for c in english.citations][:2] == [(c.doc, c.section) for c in chinese.citations][:2]
    assert "The detailed standard is in Article 17 “支持数字创意产品出口” of the 《深圳市文化产业发展专项资金资助办法》" in english.text
    assert "up to RMB 3 million (300万元)" in english.text.split("\n")[0]


def test_the_api_answer_and_health_show_the_link(with_fund):
    from starlette.testclient import TestClient

    from ui.config import ServeConfig
    from ui.holder import AssistantHolder
    from ui.server import create_app

    holder = AssistantHolder(opener=lambda: with_fund)
    holder.load()
    client = TestClient(create_app(ServeConfig(home=Path(os.environ["POLICY_ASSISTANT_HOME"]), port=0),
                                   holder=holder, load=False))
    body = client.post("/api/ask", json={"question": EXPORT_QUESTION}).json()
    assert {"doc": PRIMARY, "section": "十九"} in [c["linked_from"] for c in body["citations"]]
    assert any(c["doc"] == FUND and c["amount_wan"] == 300 for c in body["caps"])
    # Filtered to the bundled measure, retrieval and citations stay in it: the stand-in is named, not cited.
    only = client.post("/api/ask", json={"question": EXPORT_QUESTION, "doc": PRIMARY}).json()
    assert {c["doc"] for c in only["citations"]} == {PRIMARY} and "已收入本助手的资料库" in only["answer"]


def test_index_list_shows_the_link_resolved_and_removing_the_document_unresolves_it(isolated_home, capsys):
    from tiny_models import HashingEmbedder

    from assistant.cli import main
    from indexing.build import build_index
    from indexing.config import IndexConfig
    from indexing.document_list import list_documents

    config = IndexConfig(home=isolated_home, corpus_dir=CORPUS, embed_model="fake-hashing")  # type: ignore[arg-type]
    build_index(config, embedder=HashingEmbedder(), add_files=[FUND_FILE])   # type: ignore[arg-type]
    rows = {e.id: e.to_json() for e in list_documents(config)}
    link = next(link for link in rows[PRIMARY]["linked"] if link["id"] == FUND_LINK)
    assert (link["in_corpus"], link["corpus_doc"]) == (True, FUND) and rows[FUND]["linked_from"] == [PRIMARY]
    assert main(["index", "--list", "--embed-model", "fake-hashing"]) == 0
    assert f"{FUND_TITLE}（已收入：{FUND}）" in capsys.readouterr().out
    build_index(config, embedder=HashingEmbedder(), remove_ids=[FUND])   # type: ignore[arg-type]
    link = next(link for link in list_documents(config)[0].to_json()["linked"] if link["id"] == FUND_LINK)
    assert (link["in_corpus"], link["corpus_doc"]) == (False, None)


def test_without_a_relevant_article_the_answer_says_the_document_is_indexed(tmp_path, isolated_home):
    """The stand-in without its articles on awards (第十二条–第十九条; a variant written here from the fixture): the link
    resolves, but no article is close enough to （十九）, so none is cited and the answer says where the standard is."""
    from tiny_models import HashingEmbedder

    from assistant.opening import AssistantParts
    from assistant.service import PolicyAssistant
    from indexing.build import build_index
    from indexing.config import IndexConfig

    lines = FUND_FILE.read_text(encoding="utf-8").splitlines()
    dropped = {f"第{n}条" for n in ("十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九")}
    kept = [line for line in lines if not any(line.startswith(label + "\u3000") for label in dropped)]
    assert len(lines) - len(kept) == 8
    variant = tmp_path / f"{FUND}.txt"
    variant.write_text("\n".join(kept) + "\n", encoding="utf-8")
    (tmp_path / f"{FUND}.toml").write_text((DOCUMENTS_DIR / FUND / f"{FUND}.toml").read_text(encoding="utf-8"),
                                           encoding="utf-8")
    config = IndexConfig(home=isolated_home, corpus_dir=CORPUS, embed_model="fake-hashing")  # type: ignore[arg-type]
    build_index(config, embedder=HashingEmbedder(), add_files=[variant])   # type: ignore[arg-type]
    assistant = PolicyAssistant.open(index_config=config, parts=AssistantParts(embedder=HashingEmbedder()))
    answer = assistant.ask(["第十九条有什么支持？"])
    assert [(c.doc, c.section) for c in answer.citations] == [(PRIMARY, "十九")]
    assert all(c.linked_from is None for c in answer.citations)
    assert f"本条依赖《{FUND_TITLE}》（深府规〔2020〕2号），该文件已收入本助手的资料库" in answer.text


# ---- the bundled measure alone ------------------------------------------------------------------------
def test_with_the_bundled_measure_alone_deferring_answers_are_unchanged(assistant):
    """No linked document is indexed: no article is looked for, answers name the fund's measures with their 文号."""
    from assistant.linked_articles import attach_linked_articles

    kb = assistant.knowledge
    assert not kb.several_documents
    for clause in DEFERRING:
        assert list(deferrals(kb, SectionRef(PRIMARY, "clause", clause))) == []
        answer = assistant.ask([f"第{clause}条能补多少？"])
        assert [(c.doc, c.section, c.linked_from) for c in answer.citations] == [(PRIMARY, clause, None)]
        assert f"本条依赖《{FUND_TITLE}》（深府规〔2020〕2号），该文件全文不在本助手的资料库中" in answer.text
        assert "具体标准见" not in answer.text
    plan = assistant._plan(EXPORT_QUESTION)
    decision = assistant._decide(plan)
    assert attach_linked_articles(kb, assistant.retriever, plan.search_text, decision) is decision
