"""What detail a follow-up asks about the clause in focus (amount, term, conditions, basis, who applies, what to
prepare), and the words that show an answer's first sentence gives it; which sentences of a question ask
(``asked_part``); and whether a section states the detail asked at all (``tiers_unstated``, ``value_unstated``).

Pure functions over the question text; the answer sentences themselves are built in ``assistant.lead``.
"""

from __future__ import annotations

import re
from typing import Literal

Detail = Literal["term", "amount", "conditions", "basis", "who", "prepare"]
DETAILS: tuple[Detail, ...] = ("term", "amount", "conditions", "basis", "who", "prepare")

# Checked in this order: "要满足什么条件才能拿钱" asks the conditions; "按什么标准给钱" the basis. The fund's
# measures' name alone asks the basis only when nothing else is asked ("是按资助办法吗"): with the 资助办法 indexed it
# is also a document a question names ("资助办法第十三条的申请对象是谁" asks who applies).
_DETAIL_RES: tuple[tuple[Detail, re.Pattern[str]], ...] = (
    ("term", re.compile(r"期限|几年|多久|多长时间|年限|连续|每年都|分几次|一次性|一次给|分年")),
    ("conditions", re.compile(r"条件|门槛|要求|资格|满足|什么样的?(才|能|可以)|够格")),
    ("basis", re.compile(r"依据|根据(哪|什么)|按(什么|哪个|哪份)|哪个文件|什么文件|出处|原文(怎么|哪)")),
    ("who", re.compile(r"谁(能|可以|来)?(申请|申报|拿)|哪些(单位|企业|机构|主体|人)|什么(单位|企业|机构|主体)|对象|"
                       r"面向|主体|个人(能|可以)")),
    ("prepare", re.compile(r"材料|准备什么|准备哪些|要准备|提交什么|怎么申请|如何申请|怎么申报|如何申报|流程")),
    ("amount", re.compile(r"多少|钱|金额|上限|最高|最多|额度|补贴|资助|奖励|给多少|封顶")),
)
# Handing materials in (where, by post, how many copies, bound, stamped) is a step of the procedure, not the list of
# what to prepare: "纸质材料 报送地址 能不能快递" is answered by the section on submitting, not by the materials list.
# Unless the sentence also asks which materials ("要准备哪些材料，营业执照要复印几份").
_HANDING_IN_RE = re.compile(r"报送|邮寄|快递|寄过去|寄送|送到|送去|地址|几份|装订|盖章|窗口|courier|\bmail|\bpost\b|"
                            r"in person|deliver|address|copies|\bbound\b|stamp")
_WHICH_MATERIALS_RE = re.compile(r"(什么|哪些|啥)[^，。？?]{0,4}材料|准备|提交什么|what (documents|papers|materials)|"
                                 r"which (documents|papers|materials)|prepare")
# The same details asked in English ("How many years?", "What are the conditions?"), same order. Lower-case text.
_DETAIL_RES_EN: tuple[tuple[Detail, re.Pattern[str]], ...] = (
    ("term", re.compile(r"how long|how many years|\bterm\b|duration|\bperiod\b|one-off|one-time|\bonce\b|"
                        r"per year|every year|each year|annual|multi-year|instal?lments?")),
    ("conditions", re.compile(r"\bconditions?\b|requirements?|\brequired?\b|criteria|eligib|qualif|threshold")),
    ("basis", re.compile(r"legal basis|\bbasis\b|based on|according to (which|what)|which (document|regulation|rule)")),
    ("who", re.compile(r"who (can|may|could|is able to|is eligible to) (apply|get|receive)|who (applies|qualifies)|"
                       r"which (companies|enterprises|organi[sz]ations|entities|applicants)|\bindividuals?\b")),
    ("prepare", re.compile(r"materials|paperwork|what (documents|papers)|(prepare|submit)\b|how (do|can|should) (i|we) apply|"
                           r"how to apply|application (process|procedure)|\bprocedure\b")),
    ("amount", re.compile(r"how much|amount|\bcaps?\b|maximum|\bmax\b|up to|funding|subsid|grant|money|\bawards?\b|"
                          r"rewards?|\brmb\b|yuan")),
)
# Words that show a sentence states that detail (used by the answer-quality check too), Chinese and English.
DETAIL_MARKERS: dict[Detail, tuple[str, ...]] = {
    "term": ("期限", "年限", "一次性", "每年", "年", "year", "one-off", "term"),   # "… sets no term" states it too
    "amount": ("万元", "金额", "RMB", "states no amount"),
    "conditions": ("条件", "condition"),
    "basis": ("依据", "按《", "本措施", "basis", "per the 《"),
    "who": ("对象", "面向", "申请", "open to", "apply"),
    "prepare": ("准备", "材料", "prepare", "materials"),
}


# Words that make a sentence ask something (Chinese and English, lower-case text).
ASKING_RE = re.compile(r"多少|几|哪|什么|吗|怎么|如何|是否|能否|可否|谁|有没有|是不是|"
                       r"\b(what|how|which|when|where|who|can|is there)\b")
_SENTENCE_END_RE = re.compile(r"(?<=[。！!；;？?\n])")


def asked_part(text: str) -> str:
    """The sentences of a question that ask (a question mark or an asking word), without those that only describe:
    "…钱是通过跨境电商平台结汇回来的。能申请出口资助吗？大概多少？" asks of export support, not of 结汇. The whole
    text when it is one sentence or no sentence asks."""
    sentences = [s for s in _SENTENCE_END_RE.split(text) if s.strip()]
    asking = [s for s in sentences if s.rstrip().endswith(("？", "?")) or ASKING_RE.search(s)]
    return "".join(asking) if asking and len(sentences) > 1 else text


def last_sentence(text: str) -> str:
    """The sentence of a question that asks: its last, a question mark ending one too."""
    pieces = [p for p in re.split(r"[。！!；;？?\n]", text) if p.strip()]
    return pieces[-1] if pieces else text


def asked_detail(text: str) -> Detail | None:
    """The detail a question asks about, or None (a question about a topic, not a detail).

    Only the question's last sentence counts, a question mark ending one too: in "我们的平台面向中小公司……。还能拿多少？"
    or "如果建一个面向公众的体验中心呢？上限多少？" the words before it say whom the project serves, not what is asked.
    """
    last = last_sentence(text)
    named = last.replace("资助办法", "")   # a document's name, not the 资助 of an amount question
    for detail, pattern in _DETAIL_RES:
        if pattern.search(named) and not (detail == "prepare" and _handing_in(named)):
            return detail
    if named != last:
        return "basis"
    # English sentences also end at a full stop or a question mark ("We run a space. How much?" asks the amount).
    pieces = [p for p in re.split(r"[。！!；;\n?]|\.(?:\s|$)", text.lower()) if p.strip()]
    last = pieces[-1] if pieces else text.lower()
    for detail, pattern in _DETAIL_RES_EN:
        if pattern.search(last) and not (detail == "prepare" and _handing_in(last)):
            return detail
    return None


def _handing_in(sentence: str) -> bool:
    """Whether a sentence that speaks of materials asks how to hand them in rather than which ones to prepare."""
    return bool(_HANDING_IN_RE.search(sentence)) and not _WHICH_MATERIALS_RE.search(sentence)


def mentions_detail(sentence: str, detail: Detail) -> bool:
    """Whether a sentence states the detail (by its marker words)."""
    return any(marker in sentence for marker in DETAIL_MARKERS[detail])


# A section that sets out conditions in its own text: "应当具备下列条件：", "同时符合以下条件", or one titled by them
# (二（一）基本条件, （二）申请条件, 企业类申报单位的附加条件). The bundled measure has none: its conditions are phrases of
# each award ("经认定的…"), read by ``compose_flow.conditions_of``.
_SETS_OUT_CONDITIONS_RE = re.compile(r"(?:下列|以下)条件|条件[：:]")


def sets_out_conditions(title: str, text: str) -> bool:
    """Whether a section with this title and text sets out conditions itself (so no answer may say it states none)."""
    return "条件" in title or _SETS_OUT_CONDITIONS_RE.search(text) is not None


# Tiers ("分档次给予最高200万元资助", "分A、B、C三档给予资助"): a question asking what each tier pays ("每一档分别是多少
# 钱", "A档具体给多少", "具体算哪一档、能给多少钱") or how many tiers there are ("分几档"). Every one of the writers who
# asked it of the bundled measure's （五） marked it not covered: the clause names tiers and one ceiling. The top tier
# ("最高档多少") is that ceiling: it is stated.
_TIER_AMOUNTS_ASKED_RE = re.compile(
    r"(?:分别|各|每一|每个|每)档次?[^，。？?；;]{0,8}(?:多少|几万|给|补|奖)|每档|"
    r"(?:[A-Da-d甲乙丙丁]|(?<!最高)[一二三四]|最低|第[一二三四几])档[^，。？?；;]{0,8}(?:多少|几万)|"
    r"档次?[^，。？?；;]{0,6}(?:分别|各)[^，。？?；;]{0,4}(?:多少|补|给)|哪一?档[^，。？?；;]{0,8}多少")
_TIER_COUNT_ASKED_RE = re.compile(r"分几档|几个档次?|几档|分几个档")
# What a section says of its tiers: their letters ("分A、B、C三档", "A档、B档、C档的，分别给予…"), their number
# ("分三档"), or only that there are some ("分档给予", "分档次给予").
_TIER_LETTERS_RE = re.compile(r"([A-D])档?(?:、([A-D])档?)+")
_TIER_NUMBER_RE = re.compile(r"分([一二三四五六两\d])个?档")
_TIERED_RE = re.compile(r"分档|档次")


def tiers_unstated(question: str, section_text: str) -> bool:
    """Whether ``question`` asks what a section's tiers pay (or how many there are) and the section does not say: the
    sentence naming its tiers states fewer figures than it has tiers — two at least when it gives no number — or,
    asked their number, gives neither a number nor a figure for each. A section with several awards is read by the
    sentence that names the tiers: "分档给予最高20万元奖励" beside other items' 100万元 and 50万元 prices none."""
    from indexing.numerals import chinese_to_int, find_amounts_wan

    asks_amounts = _TIER_AMOUNTS_ASKED_RE.search(question) is not None
    asks_count = _TIER_COUNT_ASKED_RE.search(question) is not None
    if not (asks_amounts or asks_count):
        return False
    sentence = next((piece for piece in re.split(r"[。；;\n]", section_text)
                     if _TIERED_RE.search(piece) or _TIER_LETTERS_RE.search(piece)), None)
    if sentence is None:
        return False
    letters = _TIER_LETTERS_RE.search(sentence)
    number = _TIER_NUMBER_RE.search(sentence)
    count: int | None = None
    if letters is not None:
        count = len(set(re.findall(r"[A-D]", letters.group(0))))
    elif number is not None:
        digit = number.group(1)
        count = int(digit) if digit.isdigit() else chinese_to_int(digit)
    if count is None and not _TIERED_RE.search(sentence):
        return False
    # A sentence ending in a colon lists its tiers on the lines after it ("按票房分档给予奖励：\n（一）…").
    scope = section_text[section_text.find(sentence):] if sentence.rstrip().endswith(("：", ":")) else sentence
    amounts = {amount for amount, _, _ in find_amounts_wan(scope)}
    if asks_amounts and len(amounts) < (count or 2):
        return True
    # A number of tiers is stated by a count, letters, or a figure for each.
    return asks_count and not asks_amounts and count is None and len(amounts) < 2


# A value asked of something a section names ("市场指导租金是多少一平", "人才住房配租的租金是市场价的几折", "加速器认定
# 要多大场地"): the words before the asking word, in its clause, up to a "是" ("X是多少": X is what is asked).
_VALUE_ASKED_RE = re.compile(r"(?:是|为|有|能有|大概|一般|大约|约)?(?:多少|几折|几成|多大|多高|多长|几平)")
_ASK_CLAUSE_RE = re.compile(r"[，,。？?！!；;、\s]")
_ASKED_TAIL_RE = re.compile(r"(?:的|是|为|有|现在|目前|大概|一般|具体|都|能|可以|大约|约|每平方米|每平米?|一平方米|一平米?)+$")
_CJK_RUN_RE = re.compile(r"[\u4e00-\u9fff]+")
# An award asked ("能补多少", "资助标准多少", "最高能拿多少"): the cap table answers it, or says the text sets none.
# 助 alone: a voice-input slip of 资助 ("支助多少") is still an award.
_AWARD_ASKED_RE = re.compile(r"(?:补|拿|给|奖|算|报|申请|领|获得|得到|享受|获|按)$|助|补贴|奖励|支持|扶持|最多|最高|上限")
# A figure: digits, or a Chinese numeral with a unit or count word.
_FIGURE_RE = re.compile(r"\d|[一二三四五六七八九十百千两]+(?:万|元|%|倍|年|个|平方米|折|成|档|类|次|项|名|家)|百分之")
_NAME_LEAST = 3   # characters of the asked words a section must write for it to name the thing asked


def _asked_values(question: str) -> list[str]:
    """The names of the values ``question`` (folded) asks, at most 12 characters each; awards excluded."""
    names = []
    for match in _VALUE_ASKED_RE.finditer(question):
        before = _ASK_CLAUSE_RE.split(question[:match.start()])[-1]
        bare = before.rstrip("是")
        if "是" in bare:
            before = bare[:bare.rindex("是")]
        runs = _CJK_RUN_RE.findall(_ASKED_TAIL_RE.sub("", before))
        if runs and len(name := runs[-1][-12:]) >= _NAME_LEAST and not _AWARD_ASKED_RE.search(name):
            names.append(name)
    return names


def _pieces_written(name: str, text: str) -> list[str]:
    """The longest pieces of ``name`` that ``text`` writes (``_NAME_LEAST`` characters at least), none inside another."""
    pieces: list[str] = []
    for size in range(len(name), _NAME_LEAST - 1, -1):
        for start in range(len(name) - size + 1):
            piece = name[start:start + size]
            if piece in text and not any(piece in longer for longer in pieces):
                pieces.append(piece)
    return pieces


def _figure_beside(pieces: list[str], text: str) -> bool:
    """Whether a figure stands beside a piece in ``text``: in the clause that writes it or the next one of its sentence
    (the consequent: "对经认定的孵化器，按…给予最高100万元"), or in what follows a sentence ending in a colon (its list)."""
    sentences = re.split(r"[。；;\n]", text)
    for number, sentence in enumerate(sentences):
        clauses = re.split(r"[，,：:]", sentence)
        for index, clause in enumerate(clauses):
            if not any(piece in clause for piece in pieces):
                continue
            scope = clause + "，" + (clauses[index + 1] if index + 1 < len(clauses) else "")
            if sentence.rstrip().endswith(("：", ":")):
                scope += "".join(sentences[number + 1:])
            if _FIGURE_RE.search(scope):
                return True
    return False


def value_unstated(question: str, section_text: str) -> bool:
    """Whether ``question`` (folded) asks the value of something the section names but gives no figure for: "那科技园
    片区的市场指导租金是多少钱一平米" of "租金单价超过同区域市场指导租金的，按市场指导租金计算"; "配租的租金标准是
    多少" of "按照…人才住房配租管理办法执行". A text names such a value as a reference (another body sets it) and the
    writers of every document's questions mark it not covered. The section gives it when a figure stands beside the
    name (``_figure_beside``); an award asked is left to the cap table. False when the section does not name the thing
    asked at all (another section may)."""
    named = False
    for name in _asked_values(question):
        pieces = _pieces_written(name, section_text)
        if not pieces:
            continue
        if _figure_beside(pieces, section_text):
            return False
        named = True
    return named
