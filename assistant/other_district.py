"""Another district's policy is not in a district's measure.

"福田区对新落户企业的奖励标准是多少？跟南山比哪个高？" finds the Nanshan measure's 落户奖励 and would answer with Nanshan's
figures; "南山区有没有类似光明区这样的扶持资金" finds Guangming's. A question asking what district D gives (D named
together with a policy word in one clause, as ``corpus/lexicon/out_of_scope.toml`` reads other cities) is not answered
by a document named only by other districts (its title's 区, short title or aliases): the text does not say what D gives. A city-wide document (no
district in its title) may apply in every district, and is left alone; so is a question naming the document's own
district ("听说龙岗有落户奖励" of the Longgang measure), or a district only as where the asker is ("我们在宝安，…").
"""

from __future__ import annotations

import re
from collections.abc import Collection

from assistant.document_names import DISTRICTS_EN

_DISTRICT = "|".join(DISTRICTS_EN)
# D, then a policy word within the same clause: "福田区对新落户企业的奖励", "宝安有没有类似南山这种租算力的补贴".
_DISTRICT_POLICY_RE = re.compile(rf"({_DISTRICT})(区|新区|合作区)?(那边|那里|当地|的|有|对|这边)?[^，。？?；;,]{{0,16}}"
                                 r"(政策|补贴|扶持|资助|奖励|优惠|标准|措施|办法)")


def asks_other_district(question: str, own: Collection[str]) -> bool:
    """Whether ``question`` (folded) asks what a district gives that a document about the districts ``own``
    (``assistant.document_names.districts``; none for a city-wide document) is not about."""
    if not own:
        return False
    asked = {match.group(1) for match in _DISTRICT_POLICY_RE.finditer(question)}
    return bool(asked - set(own))
