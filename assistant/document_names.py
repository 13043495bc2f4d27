"""Which indexed document a question names: its title, short title, an alias or its 文号, from its ``.toml``.

"资助办法第十条", "南山那个措施（七）", "深文旅体〔2023〕47号的研发项目" name one document; retrieval and the question's
clause numbers are then that document's. Names are matched on folded text (width, traditional characters), the
longest first, so "南山区若干措施" names the district measure and not the bundled measure's alias "若干措施".
A turn naming none, after a turn about another document, stays with it (``carried_documents``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from assistant.query import PreviousTurn, QueryPlan, own_topic_tokens, plan_query
from indexing.corpus import CorpusDocument
from indexing.references import find_clause_refs, label_key
from indexing.section_ref import SectionRef
from indexing.tokenize_zh import domain_words, fold

_LATIN_RE = re.compile(r"[A-Za-z]{4}")
# Shorter names are ordinary words ("办法", "通知"), not a document's name.
MIN_NAME_CHARS = 3
# A title quoted without its issuer must still be this long: "关于…的通知" of a dozen characters names one document,
# a shorter one ("关于补贴的通知") might be any.
MIN_QUOTED_TITLE_CHARS = 12
_CITY_BEFORE_DISTRICT_RE = re.compile(r"[\u4e00-\u9fff]{2,3}市(?=[\u4e00-\u9fff]{2,3}区)")
_NUM = "一二三四五六七八九十"
# 二（三）: item （三） of part 二, in a document whose items restart per part.
_PART_ITEM_RE = re.compile(rf"([{_NUM}]+)\s*[（(]\s*([{_NUM}]+)\s*[）)]")
# Topic words that are only a section's number ("第二十五条", "二十五"): no word of what the section says.
_NUMERAL_WORD_RE = re.compile(rf"^[第{_NUM}百零〇条章款项]+$")
# Questions about a document as a whole or about one of its numbered sections ("一次性的是哪条", "最多的是哪条",
# "第三章有哪几条", "有效期多久", "第九条呢"): asked without a name right after an answer about another document, they
# are about that document. A question with a topic of its own is searched in every document, as a first one is.
DOCUMENT_INTENTS = frozenset({"reference", "largest", "amount-list", "structure", "meta-validity", "meta-interpret",
                              "meta-effective", "meta-status", "meta-issuer", "meta-basis", "meta-scope"})


# Shenzhen's districts (and 前海) as English questions spell them: "the Nanshan measure" names a document whose title
# is a 南山区 one. City names are not used: most documents are 深圳市 ones.
DISTRICTS_EN = {"福田": "Futian", "罗湖": "Luohu", "南山": "Nanshan", "盐田": "Yantian", "宝安": "Bao'?an",
                "龙岗": "Longgang", "龙华": "Longhua", "坪山": "Pingshan", "光明": "Guangming", "大鹏": "Dapeng",
                "前海": "Qianhai"}
# What an English question calls a document; the district must be said with it ("in Nanshan" alone is where the
# asker is, not a document's name).
_KIND_EN = r"(?:measures?|polic(?:y|ies)|rules|regulations?|notice|guides?|guidelines|implementation rules)"


# The kinds of document a title ends with, as a Chinese question calls a document after its district ("龙岗那个动漫
# 游戏措施", "福田这个细则"), and the words between the two that name no part of it.
_KIND_ZH = ("措施", "办法", "细则", "指南", "通知", "方案", "规程", "规定")
_POINTING_RE = re.compile(r"那个|这个|那份|这份|那一份|这一份|区里|关于|的|里")
# A question may call a document by its kind alone: "这个办法什么时候施行", "本通知的解释单位", "办法 制定依据". With the
# measure (a 措施) and one 办法 indexed, "办法" can only be that one. A pointing word may stand a few characters before
# the kind ("这个新办法"; 本/该/此 right before it, and not ending a word: "成本", "基本"); without one the kind must
# open the question, as a hotline's shorthand does ("办法 第十条"), for "配套实施办法" is a document the measure
# promises, not the indexed 办法. "规定" is left out (and "意见" is no kind here): they are ordinary words too
# ("这个规定是什么意思" asks about a clause's rule).
_KINDS = tuple(kind for kind in _KIND_ZH if kind != "规定")
_KIND_CALLED_RE = re.compile(rf"(?:(?:这个|这份|这项|那个|那份)[\u4e00-\u9fff]{{0,4}}?|"
                             rf"(?:(?<![\u4e00-\u9fff])|(?<=[按照据依对在与和跟把将从]))(?:本|该|此)|^)({'|'.join(_KINDS)})")
# English says the kinds it has one word for: "this notice", "the guidelines" ("measures", "rules" render several);
# a year said with it ("the 2023 application notice") must be the document's.
_KIND_CALLED_EN_RE = re.compile(r"\b(?:this|that|the) (?:((?:19|20)\d{2}) )?(?:annual )?(?:application )?"
                                r"(notice|guide|guidelines)\b")
_KINDS_EN = {"notice": "通知", "guide": "指南", "guidelines": "指南"}
_TITLE_NOTE_RE = re.compile(r"[（(][^）)]*[）)]\s*$")   # （征求意见稿）, （试行） after the kind


def document_kind(doc: CorpusDocument) -> str:
    """What kind of document a title says it is ("…资助办法" → 办法), or "" for none of ``_KIND_ZH``."""
    title = _TITLE_NOTE_RE.sub("", doc.meta.title.strip())
    return next((kind for kind in _KIND_ZH if title.endswith(kind)), "")


# How many characters may stand between a district and the kind: a title said in full, as remembered ("《南山区促进
# 数字经济和数字创意产业高质量发展若干措施》": 20), every piece of it being the document's (``_said_of``). The indexed
# titles' longest run between the two is 22 characters.
_BETWEEN_CHARS = 24
# A kind said after pieces of a title, with no district (``NameIndex.described_by_kind``), needs this many characters of
# them: "申报通知" is any year's call for applications, "扶持项目申报通知" the indexed one.
MIN_DESCRIBED_CHARS = 4
# A quotation in a question: its "本措施" is the quoted document's word for itself, whichever document that is.
_QUOTED_RE = re.compile(r"“[^”]*”|「[^」]*」|『[^』]*』|\"[^\"]*\"")
_HAN_RE = re.compile(r"[\u4e00-\u9fff]+")


@cache
def _chinese_name_re(district: str) -> re.Pattern[str]:
    return re.compile(rf"{district}区?(?P<between>[\u4e00-\u9fff]{{0,{_BETWEEN_CHARS}}}?)(?P<kind>{'|'.join(_KIND_ZH)})")


def _occurrences(text: str, name: str) -> list[int]:
    """Where ``name`` starts in ``text``, overlapping occurrences included."""
    starts, start = [], text.find(name)
    while start >= 0:
        starts.append(start)
        start = text.find(name, start + 1)
    return starts


def _said_of(words: str, names: str) -> bool:
    """Whether ``words`` are pieces (two characters or more each) of ``names``, pointing words aside: "动漫游戏那个"
    of the 龙岗区促进动漫游戏产业高质量发展的若干措施 is; "企业适用这个" is not."""
    rest = _POINTING_RE.sub("", words)
    i = 0
    while i < len(rest):
        j = next((j for j in range(len(rest), i + 1, -1) if rest[i:j] in names), None)
        if j is None:
            return False
        i = j
    return True


def districts(doc: CorpusDocument) -> list[str]:
    """The districts a document is named by: those its title says as a 区 ("南山区…") or its short title or an alias
    names."""
    meta = doc.meta
    names = f"{meta.short_title} {' '.join(meta.aliases)}"
    return [chinese for chinese in DISTRICTS_EN if f"{chinese}区" in meta.title or chinese in names]


def english_districts(doc: CorpusDocument) -> list[str]:
    """``districts`` as English questions spell them."""
    return [DISTRICTS_EN[chinese] for chinese in districts(doc)]


@cache
def _english_name_re(district: str) -> re.Pattern[str]:
    """How an English question names a district's document: "the Nanshan measure", "Nanshan's digital economy
    policy", "the Guangming 2026 digital culture equipment funding notice", "these Yantian 文旅 support measures" (the
    words between may be figures or Chinese, in one phrase: no punctuation), "the measures of Nanshan district"."""
    return re.compile(rf"\b{district}(?:'s)?(?:\s+district)?(?:\s+[\w'-]+){{0,5}}?\s+(?P<kind>{_KIND_EN})\b|"
                      rf"\b(?P<kind_first>{_KIND_EN})\s+(?:of|for|from|in)\s+(?:the\s+)?{district}(?:\s+district)?\b",
                      re.IGNORECASE)


# The Chinese kinds an English kind word can render, for a district with several documents ("the Guangming digital
# culture equipment measures" is its 办法, not its 申报通知). "policy" renders any: no choice by it.
_KINDS_OF_EN = (("implementation rules", ("细则",)), ("measure", ("措施", "办法")), ("rules", ("细则", "办法", "规定", "规程")),
                ("regulation", ("办法", "规定", "条例", "细则")), ("notice", ("通知",)), ("guide", ("指南",)))


def _of_kind_said(said: re.Match[str], documents: Sequence[tuple[str, str]]) -> list[str]:
    """Of a district's (document id, names run together), those whose names hold a Chinese kind the English kind word
    ``said`` can render; all of them when none does (or the word is "policy")."""
    word = (said.group("kind") or said.group("kind_first")).lower()
    kinds = next((zh for en, zh in _KINDS_OF_EN if en in word), ())
    chosen = [doc_id for doc_id, names in documents if any(kind in names for kind in kinds)]
    return chosen or [doc_id for doc_id, _ in documents]


def document_names(doc: CorpusDocument) -> list[str]:
    """The names a document goes by, from its metadata: title, short title, aliases, 文号, and the title as it is
    quoted without its issuer (``quoted_titles``)."""
    meta = doc.meta
    names = [meta.title, *quoted_titles(meta.title), meta.short_title, *meta.aliases, meta.doc_number]
    return [fold(n) for n in dict.fromkeys(names) if n and len(n) >= MIN_NAME_CHARS]


def quoted_titles(title: str) -> list[str]:
    """An official title runs "<issuer>关于<subject>的<kind>" and is often quoted from 关于 on ("《关于组织申报2023年度
    数字创意产业扶持项目的通知》", a bureau's annual notice), or a district's without its city ("南山区关于促进数字经济…
    的若干措施"). Only a quote long enough to be that title's alone (``MIN_QUOTED_TITLE_CHARS``)."""
    quoted = []
    about = title.find("关于")
    if about > 0 and len(title) - about >= MIN_QUOTED_TITLE_CHARS:
        quoted.append(title[about:])
    city = _CITY_BEFORE_DISTRICT_RE.match(title)
    if city is not None and len(title) - city.end() >= MIN_QUOTED_TITLE_CHARS:
        quoted.append(title[city.end():])
    return quoted


class NameIndex:
    """Every indexed document's names, longest first, looked up by their first two characters.

    Built once per corpus (``KnowledgeBase.names``): folding and sorting every name of 1,000 documents for each
    question, then looking for each one in it, took 16 ms of an answer (benchmarks/scale_corpus.py).
    """

    def __init__(self, documents: Sequence[CorpusDocument]) -> None:
        names_of = {doc.meta.id: document_names(doc) for doc in documents}
        # Longest first; names of equal length keep the documents' order (``sorted`` is stable).
        self.names = sorted(((name, doc.meta.id) for doc in documents for name in names_of[doc.meta.id]),
                            key=lambda pair: -len(pair[0]))
        self._by_start: dict[str, list[int]] = {}
        for position, (name, _) in enumerate(self.names):
            self._by_start.setdefault(name[:2], []).append(position)
        self.primary = documents[0].meta.id if documents else ""
        self._by_kind: dict[str, list[str]] = {}
        self._kind: dict[str, str] = {}
        self._year = {doc.meta.id: str(doc.meta.year or "") for doc in documents}
        for doc in documents:
            self._kind[doc.meta.id] = document_kind(doc)
            self._by_kind.setdefault(self._kind[doc.meta.id], []).append(doc.meta.id)
        # Each document's names run together, as ``_said_of`` reads them (here and in the district look-ups below).
        self._joined = {doc.meta.id: " ".join(names_of[doc.meta.id]) for doc in documents}
        # Two characters → the documents whose names hold them: what ``described_by_kind`` reads first, so that a
        # corpus of a thousand 措施 is not read through for every "…措施" a question says.
        self._holding: dict[str, set[str]] = {}
        for doc_id, joined in self._joined.items():
            for i in range(len(joined) - 1):
                self._holding.setdefault(joined[i:i + 2], set()).add(doc_id)
        # District → the documents it names, one pattern per district however many documents there are.
        self._english: dict[str, list[tuple[str, str]]] = {}   # as ``_chinese``, by the district's English name
        self._chinese: dict[str, list[tuple[str, str]]] = {}   # district → (document id, its names run together)
        for doc in documents:
            named = (doc.meta.id, self._joined[doc.meta.id])
            for chinese in districts(doc):
                self._english.setdefault(DISTRICTS_EN[chinese], []).append(named)
                self._chinese.setdefault(chinese, []).append(named)

    def find(self, text: str) -> list[str]:
        """The ids of the documents ``text`` names, in order of first mention (see ``named_documents``)."""
        return list(dict.fromkeys(doc_id for _, _, doc_id in sorted(self._located(text))))

    def without_names(self, text: str) -> str:
        """``text`` with each Chinese name of a document said by its kind alone ("《深圳市南山区关于促进数字经济和数字创意
        产业高质量发展的若干措施》里人才那部分有哪几项" → "措施里人才那部分有哪几项"). A named document's title says which
        document, and retrieval is kept to it already; searched, its words (数字经济, 高质量发展) match the preamble that
        repeats them, not the part asked about. The kind stays: "资助办法现在还有效吗" asks what 本办法's last article
        says. The text as it was when nothing of its own would be left."""
        spans = [(start, end, doc_id) for start, end, doc_id in self._located(text) if end > start]
        if not spans:
            return text
        kept, rest, last = [], [], 0
        for start, end, doc_id in sorted(spans):
            kept += [text[last:start], self._kind.get(doc_id, "")]
            rest.append(text[last:start])
            last = end
        if not _own_words("".join(rest) + text[last:]):
            return text
        return re.sub(r"《(\w{0,4})》", r"\1", "".join(kept) + text[last:])

    def _located(self, text: str) -> list[tuple[int, int, str]]:
        """Where ``text`` names documents: (start, end, document id) of each name; an English one is (start, start, id)
        (only where, for the order of mention)."""
        present = sorted({position for i in range(len(text) - 1) for position in self._by_start.get(text[i:i + 2], ())
                          if text.startswith(self.names[position][0], i)})
        taken = [False] * len(text)
        found: list[tuple[int, int, str]] = []
        # "龙岗那个动漫游戏措施": the district, pieces of the document's names, and what kind of document it is. Read
        # first, as the longer name: "南山区数字经济的若干措施" names the district measure, not one called 若干措施.
        # Where each name is said exactly, found once: a full title in 《》 is read as itself, whatever district phrase
        # lies inside it.
        starts_of = {position: _occurrences(text, self.names[position][0]) for position in present}
        exact = [(starts[0], starts[0] + len(self.names[position][0])) for position, starts in starts_of.items() if starts]
        for district in (d for d in self._chinese if d in text):
            for match in _chinese_name_re(district).finditer(text):
                if any(start <= match.start() and match.end() <= end for start, end in exact):
                    continue
                named = [doc_id for doc_id, names in self._chinese[district]
                         if match.group("kind") in names and _said_of(match.group("between"), names)]
                if named:
                    found += [(match.start(), match.end(), doc_id) for doc_id in named]
                    taken[match.start():match.end()] = [True] * (match.end() - match.start())
        quoted = [m.span() for m in _QUOTED_RE.finditer(text)] if "本" in text else []
        for position in present:
            name, doc_id = self.names[position]
            for start in starts_of[position]:
                span = range(start, start + len(name))
                if name.startswith("本") and any(a <= start < b for a, b in quoted):
                    continue   # "第三十条说“…获得本措施扶持资金…”": the quoted document speaking of itself
                if not any(taken[i] for i in span):
                    for i in span:
                        taken[i] = True
                    found.append((start, start + len(name), doc_id))
        if self._english and _LATIN_RE.search(text):
            found += [(said.start(), said.start(), doc_id) for district, documents in self._english.items()
                      if (said := _english_name_re(district).search(text)) is not None
                      for doc_id in _of_kind_said(said, documents)]
        return found

    def calls_kind_of(self, text: str, doc_ids: Sequence[str]) -> bool:
        """Whether ``text`` calls a document by a kind one of ``doc_ids`` is ("这个细则有上市奖励吗" of the 细则 the
        conversation is about): whatever else is indexed, it means that one."""
        kinds = {self._kind.get(doc_id, "") for doc_id in doc_ids} - {""}
        return any(m.group(1) in kinds for m in _KIND_CALLED_RE.finditer(text))

    def called_by_kind(self, text: str) -> list[str]:
        """The document ``text`` calls by its kind alone ("这个办法", see ``_KIND_CALLED_RE``): the one indexed document
        of that kind, when it is not the primary measure. Empty when the kind is the primary's (its questions say
        "本措施" all the time) or several documents share it (the question names none of them)."""
        kinds: list[tuple[str, str | None]] = [(m.group(1), None) for m in _KIND_CALLED_RE.finditer(text)]
        if _LATIN_RE.search(text):
            kinds += [(_KINDS_EN[m.group(2)], m.group(1)) for m in _KIND_CALLED_EN_RE.finditer(text)]
        for kind, year in kinds:
            of_kind = self._by_kind.get(kind, [])
            if len(of_kind) == 1 and of_kind[0] != self.primary and (year is None or self._year[of_kind[0]] == year):
                return of_kind
        return []

    def described_by_kind(self, text: str) -> list[str]:
        """The document ``text`` calls by pieces of its title and its kind, no district said ("这份数字创意扶持项目
        申报通知" of 《…关于组织申报2023年度数字创意产业扶持项目的通知》): at least ``MIN_DESCRIBED_CHARS`` characters
        before the kind, every piece of them (two characters or more, pointing words aside) the document's, and no
        other indexed document of that kind holding them all. The longest such run is read. Not the primary measure,
        as for ``called_by_kind``."""
        for kind in _KINDS:
            of_kind = self._by_kind.get(kind, [])
            for end in _occurrences(text, kind):
                for start in range(max(0, end - _BETWEEN_CHARS), end):
                    words = text[start:end]
                    rest = _POINTING_RE.sub("", words)
                    if len(rest) < MIN_DESCRIBED_CHARS or not _HAN_RE.fullmatch(words):
                        continue
                    # The last piece holds the last two characters: only documents whose names hold them can fit.
                    holding = self._holding.get(rest[-2:], set())
                    said = [doc_id for doc_id in of_kind if doc_id in holding and _said_of(words, self._joined[doc_id])]
                    if said:
                        return said if len(said) == 1 and said[0] != self.primary else []
        return []


def named_documents(text: str, documents: Sequence[CorpusDocument] | NameIndex) -> list[str]:
    """The ids of the documents ``text`` names, in order of first mention.

    Args:
        text: the question, folded (``QueryPlan.normalized``).
        documents: the indexed documents, or their ``NameIndex``.

    Returns:
        Document ids; a name inside a longer name that was matched does not count.
    """
    index = documents if isinstance(documents, NameIndex) else NameIndex(documents)
    return index.find(text)


def part_item_refs(text: str, doc: CorpusDocument) -> list[str]:
    """Keys of the items a question names as printed in a document whose items restart per part ("二（三）" →
    ``二/三``); empty for other documents, and for labels that name none of its sections."""
    keys = doc.document.by_key
    found = []
    for match in _PART_ITEM_RE.finditer(text):
        key = label_key(match.group(0))
        if key in keys and key not in found:
            found.append(key)
    return found


def _own_words(text: str) -> list[str]:
    """A question's own words of two characters or more, its numbers aside (as ``assistant.coverage.topic_words``
    reads them, which this module cannot import: coverage needs the knowledge base, which needs this module)."""
    return [w for w in own_topic_tokens(text) if len(w) > 1 and not _NUMERAL_WORD_RE.match(w)]


def numbered_documents(text: str, documents: Sequence[CorpusDocument]) -> list[str]:
    """The document a question naming none means by a section number, when several documents are indexed: one whose
    items restart per part has "二（七）" (no other numbering does), and of several such the one whose item holds most
    of the question's other words; a clause number ("第二十五条 人才奖励") is the document's whose numbered clause holds
    most of the question's other words — the primary measure's when it holds as many ("第十六条" alone), the only
    one's that has it when the primary lacks it ("第二十九条"). Empty: the primary's numbering, as with the primary
    alone.

    Args:
        text: the question, folded (``QueryPlan.normalized``).
        documents: the indexed documents, the primary first.
    """
    words = _own_words(text)
    if _PART_ITEM_RE.search(text):
        # Several notices and guides print "二（九）": the one whose item holds most of the question's words ("二（九）
        # 里说“实行总额控制、择优扶持”" quotes one of them), the first indexed when they hold as many.
        items = [(doc, part_item_refs(text, doc)) for doc in documents]
        scored = [(_share_said(words, doc, keys), -order, doc.meta.id) for order, (doc, keys) in enumerate(items) if keys]
        if scored:
            return [max(scored)[2]]
    refs = find_clause_refs(text)
    if not refs:
        return []
    scores: list[tuple[float, int, str]] = []
    for order, doc in enumerate(documents):
        sections = doc.document.by_key
        clauses = [k for k in refs if k in sections and sections[k].kind == "clause"]
        if clauses:
            scores.append((_share_said(words, doc, clauses), -order, doc.meta.id))
    if not scores:
        return []
    best = max(scores)
    primary = next((score for score in scores if score[2] == documents[0].meta.id), None)
    return [] if primary is not None and primary[0] >= best[0] else [best[2]]


def _share_said(words: Sequence[str], doc: CorpusDocument, keys: Sequence[str]) -> float:
    """The share of ``words`` that ``doc``'s sections ``keys`` hold (0.0 for no words)."""
    said = " ".join(doc.document.by_key[k].text for k in keys)
    return sum(w in said for w in words) / len(words) if words else 0.0


def brings_other_topic(text: str, doc_ids: Sequence[str], documents: Sequence[CorpusDocument]) -> bool:
    """Whether a turn brings a topic of its own away from the documents the conversation is about: one of its own
    words (two characters or more, numbers aside) is written in another indexed document and in none of those, and
    is a topic there: a word of the policy-domain dictionary (产业链, 示范企业) or of a chapter's (part's) heading of
    that document (上市奖励).
    Words no document writes ("这笔钱", "冲到", "没签") are how people ask, not a topic: the turn stays; so are words
    another document writes only in passing ("搬到南山", "安装调试", "要交什么材料", "自动拨"): with ten documents
    indexed nearly every word is written somewhere, and the training documents' follow-ups had left the document
    they were about for such words.

    Args:
        text: the turn, folded (``QueryPlan.normalized``).
        doc_ids: the documents the conversation is about (``carried_documents``).
        documents: the indexed documents.
    """
    words = _own_words(text)
    if not words:
        return False
    domain = domain_words()
    here = [d.document.folded_text for d in documents if d.meta.id in doc_ids]
    elsewhere = [d.document for d in documents if d.meta.id not in doc_ids]
    return any(not any(w in t for t in here)
               and any(w in d.folded_text and (w in domain or w in d.folded_headings) for d in elsewhere)
               for w in words)


def carried_documents(previous: PreviousTurn, primary: str) -> list[str]:
    """The documents a turn naming none stays with: those the previous turn named (or was kept to), else the
    document its answer cited first, the one it led with (none when that is the primary measure, or nothing was cited).

    Args:
        previous: the previous turn: its plan and the sections its answer cited (each with its document).
        primary: the primary measure's id (a section without a document is the primary's).
    """
    if previous.plan.documents:
        return list(previous.plan.documents)
    lead = (previous.sections[0].doc_id or primary) if previous.sections else primary
    return [] if lead == primary else [lead]


def plan_documents(plan: QueryPlan, text: str, previous: PreviousTurn | None,
                   documents: Sequence[CorpusDocument], names: NameIndex | None = None, scope: str = "") -> QueryPlan:
    """``plan`` (made for the primary document) with the documents its question names: their ids in
    ``plan.documents``, and its clause numbers read as the first named document's ("资助办法第十条" → that
    document's 第十条; "申报通知二（三）" → its item ``二/三``). A turn that names none, after a turn about another
    document (``carried_documents``: named, or the one its answer led with), stays with it when it asks about the
    document as a whole or a numbered section of it (``DOCUMENT_INTENTS``: "南山那个措施…" then "一次性的是哪条" reads
    the district measure's cap table; a clause number that document lacks stays the primary's), and when it brings no
    topic that only other documents write (``brings_other_topic``: "那如果是国家级的呢", "这笔钱怎么申请" stay; the
    training documents' follow-ups had drifted to other documents' clauses) or calls it by its kind ("这个细则有上市
    奖励吗" after an answer from a 细则); a follow-up keeps the documents the previous turn named (its sections, in
    whatever document, are the previous turn's anyway).

    Args:
        plan: the turn planned with the primary document's clause numbers.
        text: the turn as typed (planned again when it names another document's clauses).
        previous: the previous turn.
        documents: the indexed documents, the primary first.
        names: their ``NameIndex`` (built here when not given).
        scope: the one document answers come from (``ask --doc``): a question naming none is about it, so that its
            clause numbers and "who interprets it" name that document's sections, not the primary's.
    """
    names = names or NameIndex(documents)
    named = (named_documents(plan.normalized, names) or ([scope] if scope else []) or names.called_by_kind(plan.normalized)
             or names.described_by_kind(plan.normalized))
    if not named and previous is None:
        named = numbered_documents(plan.normalized, documents)
    carried = not named and previous is not None
    if previous is not None and not named:
        if plan.followup and previous.plan.documents:
            # A follow-up on sections of documents the previous turn named reads them whatever their document.
            plan.documents = list(previous.plan.documents)
            return plan
        primary = documents[0].meta.id
        named = carried_documents(previous, primary)
        if not named or named == [primary]:
            return plan   # after an answer led by the primary measure (or none): as if asked first
        if (plan.intent not in DOCUMENT_INTENTS and not names.calls_kind_of(plan.normalized, named)
                and brings_other_topic(plan.normalized, named, documents)):
            # "那产业链创新示范企业给多少" after an answer from the district measure: a topic only other documents
            # write is searched in every document, as a first question is.
            return plan
    if not named:
        return plan
    unnamed = plan
    doc = next(d for d in documents if d.meta.id == named[0])
    if doc is not documents[0]:
        plan = plan_query(text, previous, len(doc.document.clauses), doc_id=doc.meta.id)
    plan.documents = named
    # Searched without the names (``NameIndex.without_names``): retrieval is kept to the named documents already. Not
    # in an English question, whose Chinese name is all it writes in the documents' language: "What does 南山那个措施
    # offer game companies?" searched as "… 措施 …" was declined.
    if plan.lang == "zh":
        plan.search_text = names.without_names(plan.search_text)
        plan.facets = [names.without_names(f) for f in plan.facets]
    items = part_item_refs(plan.normalized, doc)
    if items:
        plan.clause_refs = items
        plan.intent = "reference"
        plan.forced_sections = [SectionRef.parse(key, doc.meta.id) for key in items]
    keys = {s.key for s in doc.document.sections}
    if plan.clause_refs and not any(ref.key in keys for ref in plan.forced_sections):
        if carried:
            return unnamed   # "第三条呢" after an answer about a notice numbered 一（一）…: the primary's 第三条
        # "（三）" of a notice whose items restart per part names no one item: retrieval decides.
        plan.clause_refs, plan.forced_sections = [], []
        plan.intent = "general"
    return plan

