"""What the server and the page say around a question, in the question's language: Chinese, or English for an English
question (``assistant.language``). Chinese is the default whenever the language cannot be told (no question yet, a
body that is not JSON, a question with no letters).

The assistant's own refusals of a question (``BadInput``) carry their two wordings themselves; this module holds the
rest: the JSON API's errors that can follow a question (rate limit, busy, index loading or broken, server error) and
the chat's messages (working, failed, busy, the conversation's turn limit, feedback).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from assistant.language import Lang
from assistant.question_text import language_of

MESSAGES: dict[str, dict[Lang, str]] = {
    "failed": {"zh": "抱歉，处理这个问题时出错了，请稍后再试或换一种问法。",
               "en": "Sorry, something went wrong while answering this question; please try again later or ask it "
                     "another way."},
    "busy": {"zh": "您还有问题正在处理，请等它答完再问。",
             "en": "Your previous question is still being answered; please wait for it before asking another."},
    "busy_api": {"zh": "您同时提交的问题太多，请等前面的问题答完再问。",
                 "en": "You have sent too many questions at once; please wait for the earlier ones to be answered."},
    "rate_limited": {"zh": "请求过于频繁：每个客户端{rate}（问答、检索、反馈和网页上的提问合计），请 {seconds} 秒后再试。",
                     "en": "Too many requests: each client may make {rate_en} (questions, searches, feedback and "
                           "questions on the web page together); please try again in {seconds} s."},
    "internal": {"zh": "服务器内部错误，请稍后再试。", "en": "Internal server error; please try again later."},
    "index_not_ready": {"zh": "索引正在加载，请稍候再试。",
                        "en": "The index is loading; please try again in a moment."},
    "index_problem": {"zh": "{detail}",
                      "en": "The index cannot be used right now, so no question can be answered; the administrator "
                            "can rebuild it with `policy-assistant index --rebuild` (/api/health says what is wrong)."},
    "new_conversation": {"zh": "请点“新对话”重新开始。", "en": "Click “新对话” (new conversation) to start again."},
    "comment_down": {"zh": "👎 哪里不对？补充意见（可选，{limit} 字以内）",
                     "en": "👎 What was wrong? Add a comment (optional, at most {limit} characters)"},
    "comment_up": {"zh": "👍 还有什么建议？（可选，{limit} 字以内）",
                   "en": "👍 Any suggestions? (optional, at most {limit} characters)"},
    "comment_saved": {"zh": "已收到您的意见，谢谢！", "en": "Thank you, your comment was received."},
    "comment_not_saved": {"zh": "意见没有保存。", "en": "The comment was not saved."},
}


# The chrome of a section view and of the lookup desk's results, in the language of the question or query.
VIEW_LABELS: dict[str, dict[str, str]] = {
    "zh": {"caps": "本条资助上限", "no_caps": "本条未写明资助金额。", "linked": "关联文件", "in_corpus": "（已收入语料）",
           "not_in_corpus": "（全文不在语料中）", "matched": "命中：", "via": "来源：", "and": "、", "reasons": "；",
           "score": "得分", "none": "没有找到与“{query}”相关的条款。"},
    "en": {"caps": "Caps of this clause (the original Chinese wording)", "no_caps": "This clause states no amount.",
           "linked": "Linked documents", "in_corpus": " (in the library)",
           "not_in_corpus": " (full text not in the library)", "matched": "Matched: ", "via": "Via: ", "and": ", ",
           "reasons": "; ", "score": "score", "none": "No clause was found for “{query}”."},
}


def say(key: str, lang: Lang = "zh", **values: Any) -> str:
    """The message ``key`` in ``lang`` with ``values`` filled in (``MESSAGES``)."""
    return MESSAGES[key]["en" if lang == "en" else "zh"].format(**values)


def turns_lang(turns: Iterable[object]) -> Lang:
    """The language of a conversation's text turns (``"zh"`` when none can tell), as the assistant's refusals
    tell it (``assistant.question_text.language_of``)."""
    return language_of(list(turns))


def body_lang(body: bytes | Any) -> Lang:
    """The language of the question in a request body: /api/ask's ``question`` or ``turns``, /api/search's ``query``,
    /api/feedback's ``question``, or the text fields of a web page event (``{"data": [...]}``). Anything else —
    not JSON, no question — is Chinese."""
    data = body
    if isinstance(body, (bytes, bytearray)):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return "zh"
    if not isinstance(data, dict):
        return "zh"
    turns = data.get("turns")
    texts: list[object] = list(turns) if isinstance(turns, list) else []
    texts += [data.get("question"), data.get("query")]
    if isinstance(data.get("data"), list):
        texts += data["data"]
    return turns_lang(texts)


def not_ready_message(exc: Exception, lang: Lang) -> str:
    """What to say while the assistant cannot answer (the holder's ``NotReady``: its ``code`` and Chinese message)."""
    code = getattr(exc, "code", "")
    if lang != "en" or code not in ("index_not_ready", "index_problem"):
        return str(exc)
    return say(code, "en", detail=str(exc))
