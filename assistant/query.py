"""Query understanding: normalise the question, find clause references, amounts, intent, injections,
and resolve follow-ups against the previous turn — all deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from assistant.language import Lang, detect_language, shown_language
from assistant.lexicon import Lexicon, default_lexicon
from assistant.structure import looks_structural
from indexing.numerals import find_amounts_wan
from indexing.references import find_clause_refs
from indexing.section_ref import SectionRef
from indexing.tokenize_zh import fold, tokenize

Intent = Literal[
    "reference",      # names a clause: 第十六条
    "largest",        # which clauses pay the most
    "amount-list",    # which clauses pay a given figure: 500万的有哪几条
    "meta-validity",  # 有效期
    "meta-interpret", # 由谁解释
    "meta-effective", # 施行日期
    "meta-status",    # 征求意见稿 / 正式稿
    "meta-issuer",    # 哪个部门发的 / 文号
    "meta-basis",     # 依据哪些文件
    "meta-scope",     # 重点支持领域 / 支持范围
    "match",          # a description of a business: list every clause it could apply for
    "structure",      # the measure's parts: 第八部分讲什么 / 附则有几条 / 哪一部分讲出口 / 一共几部分
    "general",
]

# Question words that say "how much money" — general Chinese, not tied to any clause.
_MONEY_RE = re.compile(
    r"多少钱|多少万|能补多少|补多少|给多少|拿多少|领多少|奖多少|资助多少|最多|最高|上限|封顶|顶格|额度|金额|多少|"
    r"能补|补贴|补助|资助|奖励|扶持|奖金|钱|万元|万|subsidy|grant|funding|money|how much|cap|"
    # English beyond the words above: the text is folded to lower case.
    r"subsidies|\bfund(s|ed|ing)?\b|\bawards?\b|\brewards?\b|maximum|\bmax\b|\bup to\b|\brmb\b|\byuan\b"
)
# A figure right after a word for the business's own money (营收2000万, 投入大概1200万元, "revenue of RMB 30 million") describes
# the business: it is not an award the asker claims or asks about, so the answer must not call it "the amount you
# mentioned" and compare it with a cap. Up to eight characters may stand between (约, 大概, 去年, 加起来).
# Spoken Chinese says the spending with a verb as often as with a noun ("投了600万", "花了300万", "砸了两千万").
_BUSINESS_FIGURE_RE = re.compile(
    r"(营收|营业收入|收入|营业额|销售额|流水|产值|投入|投资额|总投资|投资了|投了|花了|花费|砸了|支出|开支|融资|估值|成本|利润|"
    r"注册资本|gmv|revenue|sales|"
    r"turnover|invested|investment|raised|valuation|costs?|budget|spent)[^，。,.;；！？!?]{0,8}$",
    re.IGNORECASE,
)
_TERM_RE = re.compile(r"期限|几年|多久|多长时间|年限|连续|每年|一次性|分几次|"
                      r"how long|how many years|per year|every year|each year|one-off|one-time|\bterm\b|duration")
_LARGEST_RE = re.compile(
    r"(补|给|资助|奖励|扶持|钱|金额)[^，。？?]{0,6}(最多|最高|最大)的|(最多|最高|最大)的[^，。？?]{0,4}(条款|是哪|有哪|项目)|"
    r"哪(几|些|个)?(条款|条|项|个)?[^，。？?]{0,6}(补|给|拿|资助|奖励)得?(最多|最高)|金额最大|最大的一笔|"
    r"(资助|补贴|金额|上限|钱)[^，。？?]{0,4}(排名|排序)|从高到低|"
    r"(整个|全部|所有|这个|本)(措施|政策|文件)[^，。？?]{0,10}(最多|最高)|(单个|单项|一个)项目[^，。？?]{0,6}(最多|最高)|"
    r"(最多|最高)(能|可以)?(拿|补|给)[^，。？?]{0,6}(哪几|哪些)|"
    r"(which|what) (clauses?|items?|awards?|parts?)[^,.?]{0,20}\b(the )?(most|largest|highest|biggest)\b|"
    r"\b(largest|highest|biggest) (single )?(award|cap|grant|amount|subsidy)"
)
_NUMBER = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百]+)"
# "Which clauses pay X": a figure or a kind of award (一次性 / 每年 / 追加) with a which-clause question.
_CAP_LIST_QUESTION = r"(哪(几|些|个)?(条|项|个)|是哪|有哪|的条款)"
_AMOUNT_LIST_RE = re.compile(
    rf"{_NUMBER}\s*万[元块]?[^，。？?]{{0,8}}{_CAP_LIST_QUESTION}|哪(几|些)?(条|项)[^，。？?]{{0,10}}{_NUMBER}\s*万|"
    rf"(一次性|每年|追加)[^，。？?]{{0,10}}{_CAP_LIST_QUESTION}|哪(几|些)?(条|项)[^，。？?]{{0,10}}(一次性|每年|追加)"
)
_CAP_KIND = (("一次性", "一次性最高"), ("每年", "每年最高"), ("追加", "追加"))
# The same questions in English (the text is folded to lower case): "which clauses pay 5 million?", "which clauses
# give one-off awards?", "list all caps". A bare "5 million" is a figure only in such a question (elsewhere "USD 80
# million" or "80 million revenue" is not an amount of this measure); a question with no figure and no kind asks for
# every cap.
_EN_AWARD = r"(awards?|funding|grants?|amounts?|money|subsid(y|ies)|caps?|support)"
_EN_CAP_KIND = ((r"\bone-?(off|time)\b", "一次性最高"),
                (rf"\b(per|each|every) year\b|\b(yearly|annual) {_EN_AWARD}", "每年最高"),
                (rf"\b(additional|top-up) {_EN_AWARD}|\bon top of\b", "追加"))
_EN_AMOUNT_LIST_RE = re.compile(r"\b((which|what) (clauses?|items?|provisions?)|(any|a) (clause|item) (that|which)) "
                                r"(pays?|gives?|offers?|provides?|grants?|has|have|carry|carries|come with|comes with)"
                                r"\b[^?.,;]{0,40}")
_EN_ALL_CAPS_RE = re.compile(r"\b(list|show|give|tell|what are)\b[^?.]{0,16}\b(all|every|each)\b[^?.]{0,16}\b(caps?|"
                             r"award caps?|amounts?|maximums?|limits?)\b|\ball (the )?(award |funding )?caps\b")
_EN_BARE_MILLION_RE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?) ?(million|mn|m)\b")
# Hotline shorthand with a bare clause number (no 第/条/brackets): "13 金额", "那十七呢", "九和十七哪个高". Only in these
# shapes: elsewhere a bare number is an amount, a year or a count.
_BARE = r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
_TERSE_REF_RES = (
    re.compile(rf"^\s*{_BARE}\s+(?=\S)(?![万元年月日个人家项次岁倍级期名位])"),
    re.compile(rf"^(?:那|那么)?{_BARE}(?:呢|的呢|怎么样)"),
    re.compile(rf"{_BARE}(?:和|与|跟|还是|vs)(?:第)?{_BARE}(?:条)?(?:哪个|谁|哪条|比|的区别|有什么区别|区别)"),
)
# A document's issuer or its 文号 asked ("这个通知是哪个部门发的？文号是多少？"): a hotline's everyday look-up, answered
# from the document's registered metadata, saying whether its text writes the 文号 too (in its heading, where one
# stands), never from the section nearest the words (its contact telephone list).
# Who issued is read only with a document as its subject: "补贴是哪个部门发的" asks who pays. ``ASKS_DOC_NUMBER_RE``
# says which of the two is asked.
_DOCUMENT_WORD = r"(措施|办法|通知|文件|政策|指南|细则|规定|意见|规程)"
_DOC_NUMBER_WORDS = r"文号|发文字号|字号是|document number|reference number"
ASKS_DOC_NUMBER_RE = re.compile(_DOC_NUMBER_WORDS)
_ISSUER_RE = re.compile(
    rf"{_DOC_NUMBER_WORDS}|发文(单位|机关|部门)|(印发|发布|出台|发文)的?(单位|机关|部门)|"
    rf"{_DOCUMENT_WORD}[^，。？?]{{0,12}}(哪个|哪家|什么|哪一个)(部门|单位|机关)[^，。？?]{{0,4}}(发|印发|发布|出台|下发|出)的?|"
    rf"{_DOCUMENT_WORD}[^，。？?]{{0,12}}是?谁(发|印发|发布|出台|下发|出)的|"
    rf"(哪个|哪家|什么)(部门|单位|机关)[^，。？?]{{0,3}}(发|印发|发布|出台|下发)的?(这个|这份|该)?{_DOCUMENT_WORD}|"
    r"who (issued|published)|which (department|agency|authority|body) (issued|published)|"
    r"issuing (department|authority|body)")
_ASKS_ISSUER_RE = re.compile(r"部门|单位|机关|谁|issu|who|publish")


def asked_issuer_facts(text: str) -> tuple[bool, bool]:
    """Of a question about a document's issuer or 文号 (folded): whether it asks the 文号, and who issued it."""
    number = ASKS_DOC_NUMBER_RE.search(text) is not None
    return number, not number or _ASKS_ISSUER_RE.search(text) is not None


_META_PATTERNS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    ("meta-issuer", _ISSUER_RE),
    # "什么时候截止" is the measure's end, "什么时候截止申报" an application deadline (out of scope).
    ("meta-validity", re.compile(r"有效期|有效多久|管几年|管多久|什么时候(截止|到期|失效|结束)(?![申报])|到哪年|几年有效|"
                                 r"\bvalid\b|validity|\bexpires?\b|(remain|stay)s? in force|how long (is|does|will) "
                                 r"(it|this|the) (measure |policy )?(last|apply|remain)")),
    ("meta-interpret", re.compile(r"解释|谁说了算|以谁的为准|歧义|interpret")),
    ("meta-effective", re.compile(r"施行|实施日期|生效|什么时候(开始|实施|执行|起)|哪一?天(开始|实施|起)|起实施|开始实施|执行日期|"
                                  r"开始算数|什么时候算数|从哪一?天|"
                                  r"takes? effect|effective date|comes? into (force|effect)|(already|currently|now) in force|"
                                  r"in force (yet|now|already)|start date of (the|this) (measure|policy)")),
    # "正式发布", "草案", "定稿" say the state of anything: of the measure when it is their subject or they are asked
    # ("这个政策正式发布了吗"); "我们主导制定的国家标准已经正式发布了" tells of the asker's own standard.
    ("meta-status", re.compile(r"征求意见稿|正式稿|正式版|正式文件|是不是正式|还在征求意见|征求意见阶段|"
                               r"(措施|政策|办法|文件|通知|细则|规定|意见|这个|这份|它|本)[^，。？?；;]{0,8}"
                               r"(正式发布|正式印发|定稿|草案|草稿|最终版)|"
                               r"(正式发布|正式印发|定稿|草案|草稿|最终版)[^，。；;]{0,6}(吗|没有?|了没|是不是|还是|[?？])|"
                               r"(still|only|just) a draft|\bdraft or (final|official)|(final|official) (version|regulation|text|"
                               r"measure|policy)? ?or (still )?(a )?draft|officially (issued|published|adopted)|"
                               r"\bis (this|it|the (measure|policy|document)) (still |only |just )?(a |the )?(draft|final)\b")),
    # "依据/根据哪" alone asks for the basis of whatever the question is about ("这类项目的资助依据和上限", "依据哪一条"):
    # it asks for the measure's own basis only with the measure, its making or the documents behind it in view.
    ("meta-basis", re.compile(r"(依据|根据(哪|什么))[^。？?]{0,16}(制定|出台|出的|定的|上级|上位|部委|省里)|"
                              r"上位|上级文件|出台背景|制定依据|(出台|制定|发布)[^，。？?]{0,8}(目的|为了什么|为什么)|"
                              r"(目的|宗旨)是什么|为什么(要)?[^，。？?]{0,4}(出台|制定)|"
                              # "跟文旅部那个意见/省里的行动计划什么关系": the documents the preamble names
                              r"(文旅部|文化和旅游部|广东省|省里|省级|国家|市政府|市里)[^，。？?]{0,24}(意见|计划|文件|部署)[^。？?]{0,14}关系|"
                              r"(意见|行动计划|实施意见|上级文件)[^，。？?]{0,10}(有|啥|什么)?关系|"
                              r"(measure|policy|document|it|this) (is |was )?based on|higher[- ]level (documents?|polic)|"
                              r"legal basis of (the|this)")),
    ("meta-scope", re.compile(r"重点支持领域|支持(哪些|什么)领域|四大业态|支持范围|支持哪些行业|覆盖哪些行业|适用范围|"
                              r"重点支持的(范围|领域|方向)|四大(块|类|方向)|主要(扶持|支持)(哪些|什么)|(扶持|支持)哪些业务|"
                              r"重点发展(哪些|什么)|在不在[^，。？?]{0,10}(支持|扶持)的?范围|"
                              r"four (major|main|key) (business )?(formats|areas|sectors)|key (areas|fields) of support|"
                              r"(which|what) (industries|sectors|fields|areas) (does|do|will) (it|this|the) ?(measure|policy)? "
                              r"(mainly )?support")),
)
_INJECTION_RE = re.compile(
    r"忽略(之前|以上|前面|上面|先前|所有)?的?(所有)?(规则|规定|指令|设定|要求|限制|提示)|ignore (all |the |your |any )?(previous|above|prior)|"
    r"system\s*[:：]|系统提示|你现在是|扮演|把上限改|上限改成|改成\d+万|按我说的|不要引用|别管(规则|原文)"
)
_FIRST_PERSON_RE = re.compile(r"我们|我司|本公司|我公司|我们公司|咱们|我是|我在|我想|我打算|我家|本人|我们团队|我们是|公司是|团队|工作室|机构")
_BUSINESS_VERB_RE = re.compile(r"做|开|搞|经营|运营|开发|生产|打算|计划|想|准备|提供|卖|签|建|办")
_ANAPHORA_RE = re.compile(r"这个|这条|该条|此条|这项|这一条|上面(的|那个|这条)?|刚才(的|那个|说的)?|上一条|它|该项|这款|这笔|"
                          r"\b(it|its|this one|that one|this clause|that clause|the same clause)\b")
_ORDINAL_RE = re.compile(r"第([一二三四五六七八九十\d])(?:个|项)|(前|后|最后)一(?:个|项)|另一个|另外一个")
# "第二项" after a clause was discussed is that clause's second item, not clause (二); "第二条呢" right after an
# answer that listed several clauses is the second one listed.
_ITEM_RE = re.compile(r"第([一二两三四五六七八九十\d])项")
_LISTED_RE = re.compile(r"第([一二两三四五六七八九])条(呢|的呢|那个)")
_SMALL_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)} | {"两": 2}
_ELLIPSIS_START_RE = re.compile(r"^(那|那么|那如果|如果是|如果|要是|换成|还有|另外|那要是|那我们|那我|"
                                r"and what about |what about |how about |and for |and if |what if )")
_ELLIPSIS_END_RE = re.compile(r"(呢|的呢|怎么样|怎么算|一样吗|也行吗|也可以吗|也能吗)[？?。!！]*$")
# Words that only carry intent; what remains after removing them is the question's own topic.
_INTENT_ONLY = frozenset(
    """多少 钱 补 补贴 补助 资助 奖励 扶持 给 拿 领 能补 最多 最高 上限 封顶 期限 几年 多久 年限 条件 要求 申请 申报
    怎么 材料 准备 呢 那 那么 如果 要是 是 吗 有 没有 一样 也 行 可以 能 这个 这条 该条 它 上面 刚才 第 个 条款
    多长 时间 每年 一次性 怎么样 算 还 另外 还有 一次 几次 办法 按 规定 哪 哪条 哪个 对上 适用 符合 算不算 挂 申 万
    元 万元 听说 真的 确定 吗 吧 对 对吗 是不是 多大 额度 金额 次 年 具体 讲 说 内容 什么 直接 告诉 告诉我 限制
    规则 指令 忽略 前面 之前 所有 以上 设定 提示 system 改成 政府 支持 政策 我能 我们能 能拿 能领 能给 以后 到
    怎么办 咋 咋办 多少钱 补多少 拿多少 最 最多能 最高能 补得 给得 拿得 得 哪些 哪几条 几条 哪几个 哪一条 多 少""".split()
)

# English words that carry only intent or grammar ("How many years?", "And what's the cap for it?"): a follow-up
# made of them has no topic of its own. Lower case, as the folded text is.
_INTENT_ONLY_EN = frozenset(
    """a an the and or but so then also too again else other is are was were be been being do does did can could may
    might will would shall should must have has had it its this that these those there here what whats what's which who
    whom whose when where why how how's many much long often more most less least per every each any some all of to in
    on at for from by with about as if into under than s please tell me i we our us you your they their he she them
    get got getting receive given give gives pay paid pays funding fund funds funded subsidy subsidies grant grants
    money amount amounts cap caps maximum max up award awards reward rewards support rmb yuan million year years
    term period duration one off once time one-off one-time annual annually condition conditions requirement
    requirements eligible eligibility apply application applying prepare materials documents clause article item
    same ok okay yes no not just only still exactly really right correct true valid validity""".split()
)

# Characters of follow-up questions that ask about the clause just discussed ("这种能补多少，怎么定档",
# "钱是一次给还是分年给", "需要满足什么条件", "经认定后能拿多少") rather than name a new topic.
_FUNCTION_CHARS = frozenset(
    "最多少补钱能给拿领奖后这那种个算还是需要满足对应别的其他它条款块连续分年次每一再又也都吗呢吧啊么什怎样哪里些几久长期限额度有没"
    "定档经认批该此上面刚才说得会可以要"
)
# "还有别的吗": more clauses for the same situation, other than those already given.
_MORE_RE = re.compile(r"^(还有|另外还有|有没有|还有没有)?(别的|其他|其它|更多)(的)?(条款|条|政策|支持|可以申请的|能申请的)?(吗|呢|没有|么)?[？?。!！]*$")

MAX_FACETS = 4
# A facet is one part of a description ("做VR头显的", "明年想出海"); a piece longer than this is cut, so the facets
# of a 2,000-character question cost the embedder no more than the question itself (about one model window).
MAX_FACET_CHARS = 120


@dataclass
class QueryPlan:
    """Everything understood about one turn before retrieval."""

    original: str
    normalized: str
    rewritten: str
    search_text: str
    intent: Intent = "general"
    money: bool = False
    asks_term: bool = False
    clause_refs: list[str] = field(default_factory=list)
    claimed_amounts: list[float] = field(default_factory=list)
    cap_kind: str = ""   # 一次性最高 / 每年最高 / 追加 when the question names that kind of award
    injection: bool = False
    expansion: list[str] = field(default_factory=list)
    facets: list[str] = field(default_factory=list)
    # Sections by document (a follow-up keeps the previous answer's, whichever document they are in):
    forced_sections: list[SectionRef] = field(default_factory=list)   # from a reference or a follow-up
    carried_sections: list[SectionRef] = field(default_factory=list)  # previous turn's sections (a small prior)
    excluded_sections: list[SectionRef] = field(default_factory=list)  # "还有别的吗": sections already given
    ordinal: int | None = None
    followup: str = ""  # "", "anaphora", "ordinal", "ellipsis", "bare"
    lang: Lang = "zh"   # the turn's language (assistant.language), else the conversation's when it shows none ("16?")
    documents: list[str] = field(default_factory=list)   # ids of the documents the question names (or its context's)

    def carried_keys(self, doc_id: str) -> list[str]:
        """The carried sections of document ``doc_id``, by key: what retrieval's carried bonus and the learned prior
        read (both name sections of that one document)."""
        return [ref.key for ref in self.carried_sections if ref.doc_id == doc_id]


@dataclass(frozen=True)
class PreviousTurn:
    """What the previous turn was about: its plan, the sections its answer cited, in order, and their text."""

    plan: QueryPlan
    sections: tuple[SectionRef, ...]
    written: str = ""   # the text of the cited sections: a follow-up using their words is still about them


def normalize(text: str, lexicon: Lexicon | None = None) -> str:
    """Fold width/traditional/case, collapse whitespace, repair unambiguous typos."""
    lexicon = lexicon or default_lexicon()
    folded = fold(text)
    folded = re.sub(r"\s+", " ", folded).strip()
    return lexicon.repair(folded)


def is_english_intent_word(token: str) -> bool:
    """An English word that carries only intent or grammar ("cap", "how", "much"), whatever the question's language."""
    return token.isascii() and token.lower() in _INTENT_ONLY_EN


def own_topic_tokens(text: str) -> list[str]:
    """Content tokens of a question once intent-only words are removed (empty for "钱呢", "有期限吗").

    jieba also glues question words into tokens of its own ("最多补", "钱能", "后能"): a token made only of
    question and function characters carries no topic either.
    """
    text = _INJECTION_RE.sub(" ", text)
    # English intent words count only in an English question: a Chinese one keeps its English nouns as before.
    english = _INTENT_ONLY_EN if detect_language(text) == "en" else frozenset()
    return [t for t in tokenize(text)
            if t not in _INTENT_ONLY and t not in english and not t.isdigit() and not set(t) <= _FUNCTION_CHARS]


def terse_clause_refs(text: str, max_clause: int) -> list[str]:
    """Clause numbers written bare in a hotline shorthand (see ``_TERSE_REF_RES``), as clause keys."""
    for pattern in _TERSE_REF_RES:
        match = pattern.search(text)
        if match:
            keys = [find_clause_refs(f"第{number}条", max_clause) for number in match.groups() if number]
            if keys and all(keys):
                return list(dict.fromkeys(k[0] for k in keys))
    return []


def detect_intent(text: str, refs: list[str]) -> Intent:
    if refs:
        return "reference"
    if looks_structural(text):
        return "structure"
    if _AMOUNT_LIST_RE.search(text) and (find_amounts_wan(text) or any(word in text for word, _ in _CAP_KIND)):
        return "amount-list"
    if _EN_ALL_CAPS_RE.search(text) or _english_cap_list(text) is not None:
        return "amount-list"
    if _LARGEST_RE.search(text):
        return "largest"
    for intent, pattern in _META_PATTERNS:
        if pattern.search(text):
            return intent
    if looks_like_description(text):
        return "match"
    return "general"


def _english_cap_list(text: str) -> tuple[list[float], str] | None:
    """The figures (in 万元: "RMB 5 million", or a bare "5 million") and the kind of award ("one-off", "per year",
    "additional", as its qualifier) an English which-clauses question asks about; None when it asks neither."""
    match = _EN_AMOUNT_LIST_RE.search(text)
    if match is None:
        return None
    asked = match.group(0)
    figures = [amount for amount, _, _ in find_amounts_wan(asked)]
    figures = figures or [float(m.group(1)) * 100 for m in _EN_BARE_MILLION_RE.finditer(asked)]
    kind = next((kind for pattern, kind in _EN_CAP_KIND if re.search(pattern, asked)), "")
    return (figures, kind) if figures or kind else None


def claimed_amounts(text: str) -> list[float]:
    """The amounts (万元) a question claims or asks about: every figure except those describing the business's own
    money (``_BUSINESS_FIGURE_RE``). ``find_amounts_wan`` reads the width-folded text, whose offsets are the text's."""
    return [amount for amount, start, _ in find_amounts_wan(text) if not _BUSINESS_FIGURE_RE.search(text[:start])]


def looks_like_description(text: str) -> bool:
    """A founder describing their business in their own words (long, first person, a doing verb)."""
    return len(text) >= 8 and bool(_FIRST_PERSON_RE.search(text)) and bool(_BUSINESS_VERB_RE.search(text))


def split_facets(text: str) -> list[str]:
    """Split a business description into its facets (what they make, for whom, what they plan).

    Clauses of a sentence are cut at Chinese punctuation and at connectives that start a new plan
    (还/另外/同时/以后/打算/计划/准备); very short pieces are merged into their neighbour.
    """
    pieces = re.split(r"[，,。；;！!？?\n]|(?:另外|同时|此外|并且|而且|以后|将来|未来|下一步|还想|还打算|还计划|也想)", text)
    facets: list[str] = []
    for piece in (p.strip() for p in pieces if p and p.strip()):
        if facets and len(own_topic_tokens(piece)) < 2:
            facets[-1] = facets[-1] + "，" + piece
        else:
            facets.append(piece)
    return [facet[:MAX_FACET_CHARS] for facet in facets[:MAX_FACETS]] if len(facets) > 1 else []


def _strip_ellipsis(text: str) -> str:
    text = _ELLIPSIS_START_RE.sub("", text)
    text = _ELLIPSIS_END_RE.sub("", text)
    return text.strip(" ，,？?。")


def _intent_phrase(plan: QueryPlan) -> str:
    if plan.asks_term:
        return "资助期限是多久？"
    if plan.money or plan.intent == "largest":
        return "最多能获得多少资助？"
    return "适用哪条政策？"


def plan_query(
    text: str,
    previous: PreviousTurn | None = None,
    max_clause: int = 999,
    lexicon: Lexicon | None = None,
    doc_id: str = "",
) -> QueryPlan:
    """Understand one turn, resolving it against the previous one when it is a follow-up.

    Args:
        text: the user's turn as typed.
        previous: the previous turn's plan and cited sections, if any.
        max_clause: highest clause number of the measure (to validate references).
        lexicon: the domain lexicon (default: corpus/lexicon/synonyms.toml).
        doc_id: the document the question's clause numbers name (the primary measure).

    Returns:
        The query plan; ``rewritten`` is a standalone question shown to users and eval suites.
    """
    lexicon = lexicon or default_lexicon()
    normalized = normalize(text, lexicon)
    refs = find_clause_refs(normalized, max_clause) or terse_clause_refs(normalized, max_clause)
    item = _ITEM_RE.search(normalized)
    if previous is not None and previous.sections and item and refs == find_clause_refs(item.group(0), max_clause):
        refs = []
    listed = _LISTED_RE.search(normalized)
    by_position = (previous is not None and listed is not None and 1 < len(previous.sections)
                   and _SMALL_NUMERALS[listed.group(1)] <= len(previous.sections)
                   and refs == find_clause_refs(listed.group(0), max_clause))
    if by_position:
        refs = []
    plan = QueryPlan(original=text, normalized=normalized, rewritten=normalized, search_text=normalized)
    plan.clause_refs = refs
    plan.injection = bool(_INJECTION_RE.search(normalized))
    plan.claimed_amounts = claimed_amounts(normalized)
    plan.money = bool(_MONEY_RE.search(normalized)) or bool(plan.claimed_amounts)
    plan.cap_kind = next((kind for word, kind in _CAP_KIND if word in normalized), "")
    plan.asks_term = bool(_TERM_RE.search(normalized))
    plan.intent = detect_intent(normalized, refs)
    if plan.intent == "amount-list" and not _AMOUNT_LIST_RE.search(normalized):   # asked in English
        plan.claimed_amounts, plan.cap_kind = _english_cap_list(normalized) or ([], "")   # "list all caps": all
    if plan.injection and plan.intent == "amount-list":
        # A figure inside an injected instruction ("回答保证能拿1000万") is not a question about which clauses pay it.
        plan.intent = "general"
    plan.forced_sections = [SectionRef.parse(key, doc_id) for key in refs]

    if previous is not None and not refs:
        _resolve_followup(plan, previous, listed if by_position else None)

    if plan.intent == "match":
        plan.facets = split_facets(plan.search_text)
    # A turn with no language of its own ("16?", "VR?") is read in the conversation's, as its answer is: the
    # refusal threshold and the English expansion follow the asker, not the default (Chinese).
    plan.lang = shown_language(text) or (previous.plan.lang if previous is not None else "zh")
    plan.expansion = lexicon.expand(plan.search_text, english=plan.lang == "en")
    return plan


# The measure's own facts: asked after another of them, a pronoun names the measure, not the clause that answered.
_MEASURE_FACT_INTENTS = frozenset({"meta-validity", "meta-effective", "meta-interpret", "meta-status", "meta-issuer"})
# A turn whose subject is the document as a whole ("那这个办法什么时候施行？", "Is the policy still in force?").
_WHOLE_DOCUMENT_RE = re.compile(r"(这个|这份|这项|本|该|整个)(措施|办法|政策|文件|通知|细则|规定|指南)|"
                                r"(the|this|that) (measure|policy|document|notice|regulation)", re.IGNORECASE)


def _resolve_followup(plan: QueryPlan, previous: PreviousTurn, listed: re.Match[str] | None = None) -> None:
    if plan.intent in ("amount-list", "largest"):
        return   # "一次性的是哪条", "哪条最多": answered from the whole cap table, whatever came before
    text = plan.normalized
    prev_sections = list(previous.sections)
    plan.carried_sections = prev_sections[:3]
    topic = own_topic_tokens(_strip_ellipsis(text))
    ordinal = listed or _ORDINAL_RE.search(text)
    inherits_money = (not plan.money) and (previous.plan.money or previous.plan.intent == "largest")

    if _MORE_RE.match(text) and prev_sections:
        # Same situation as before, other clauses: first those the conversation had already found but the last
        # answer did not give, else the previous question searched again without its answers.
        plan.followup = "more"
        earlier = [k for k in previous.plan.carried_sections if k not in prev_sections]
        if earlier:
            plan.forced_sections = earlier[:2]
            plan.money = plan.money or previous.plan.money
            plan.rewritten = f"{previous.plan.rewritten}（{'、'.join(r.key for r in prev_sections)}以外）"
            return
        plan.search_text = previous.plan.search_text
        plan.facets = list(previous.plan.facets)
        plan.excluded_sections = prev_sections
        plan.carried_sections = []
        plan.rewritten = f"{previous.plan.rewritten}（{'、'.join(r.key for r in prev_sections)}以外）"
        plan.intent = "match" if previous.plan.intent == "match" else plan.intent
        return

    if previous.plan.intent.startswith("meta") and plan.asks_term and not topic:
        # "有期限吗" after a question about the measure itself (who interprets it, is it final) is about the
        # measure's own term, not about the clause that answered the previous question.
        plan.intent = "meta-validity"
        plan.followup = "bare"
        plan.carried_sections = []
        return

    if plan.intent in _MEASURE_FACT_INTENTS and (previous.plan.intent.startswith("meta") or _WHOLE_DOCUMENT_RE.search(text)):
        # "它什么时候生效？", "How long is it valid?" after a question about the measure itself: "it" is the measure,
        # whose own facts answer, not the clause that answered the previous question; so is "这个办法" after a clause.
        plan.followup = "bare"
        plan.carried_sections = []
        return

    if ordinal and prev_sections:
        number = ordinal.group(1)
        index = 0
        if number:
            index = (int(number) if number.isdigit() else _SMALL_NUMERALS[number]) - 1
        elif ordinal.group(2) in ("后", "最后"):
            index = len(prev_sections) - 1
        plan.followup = "ordinal"
        plan.ordinal = index
        # Several clauses cited before: the n-th clause. One clause: its n-th award, same clause.
        target = prev_sections[index] if 1 < len(prev_sections) and index < len(prev_sections) else prev_sections[0]
        plan.forced_sections = [target]
        plan.rewritten = f"{target.label}{text}" if target.is_clause else text
        plan.intent = previous.plan.intent if plan.intent == "general" else plan.intent
        plan.money = plan.money or previous.plan.money
        return

    if not topic and prev_sections:
        # "钱呢？" "这个有期限吗？" "要什么条件" — no topic of its own: it is about the previous sections.
        plan.followup = "bare" if not _ANAPHORA_RE.search(text) else "anaphora"
        plan.forced_sections = prev_sections[:1] if plan.followup == "anaphora" else prev_sections[:2]
        plan.money = plan.money or inherits_money or plan.asks_term
        target = plan.forced_sections[0]
        label = target.label if target.is_clause else ""
        plan.rewritten = f"{label}{text}" if label else f"{previous.plan.rewritten} {text}"
        plan.search_text = f"{previous.plan.search_text} {text}"
        if plan.intent == "general":
            plan.intent = previous.plan.intent if previous.plan.intent != "match" else "general"
        return

    if _ANAPHORA_RE.search(text) and prev_sections and len(topic) <= 2:
        plan.followup = "anaphora"
        plan.forced_sections = prev_sections[:1]
        target = prev_sections[0]
        plan.rewritten = f"{target.label}{text}" if target.is_clause else text
        plan.money = plan.money or inherits_money
        return

    if len([t for t in topic if t not in previous.written]) > 2:
        # A follow-up with a substantial topic of its own ("那如果把游戏卖到海外呢") should not lean on the previous
        # answer's clauses; words those clauses write are theirs ("如果展会是2023年4月办的呢" after the clause on
        # 论坛、峰会、展会 asks about that clause's events).
        plan.carried_sections = []
    is_ellipsis = bool(_ELLIPSIS_START_RE.search(text) or _ELLIPSIS_END_RE.search(text))
    if is_ellipsis and len(text) <= 30:
        plan.followup = "ellipsis"
        core = _strip_ellipsis(text) or text
        if inherits_money:
            plan.money = True
        if not plan.money and not plan.asks_term and plan.intent == "general":
            plan.intent = previous.plan.intent if previous.plan.intent not in ("reference",) else "general"
        plan.rewritten = core + ("" if (plan.money and _MONEY_RE.search(core)) else _intent_phrase(plan if plan.money else previous.plan))
        # Keep the previous question as weak context for retrieval: the carried-sections prior does the rest.
        plan.search_text = core
