"""What the /api routes accept: JSON bodies parsed strictly, and the shape of each route's request checked.

Every refusal is an :class:`~ui.api_errors.ApiError` (400) with a stable code and a Chinese message (English for a
question the assistant refused when the question is English: ``BadInput.lang``). The questions
of /api/ask and /api/search are checked by the assistant that answers them (``assistant.question_text``, the
one check every door shares), whose refusal :func:`refused_input` words as this API does; /api/feedback, which
answers nothing, checks its questions here with the same function.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from assistant.language import Lang
from assistant.question_text import BadInput, TooManyTurns, clean_question, language_of
from ui.api_errors import ApiError
from ui.feedback import MAX_COMMENT

MAX_K = 50
MAX_ID = 200
MAX_JSON_DEPTH = 32


def strict_json(body: bytes) -> Any:
    """The body parsed exactly as Starlette parses it, refusing an object with the same key twice.

    Duplicate keys would let a checker and the app read different values (``json`` keeps the last).
    """
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ApiError(400, "bad_json", "请求体的 JSON 对象中有重复的键。")
        return dict(pairs)

    try:
        return json.loads(body, object_pairs_hook=no_duplicates)
    except ApiError:
        raise
    except RecursionError:
        raise ApiError(400, "bad_json", f"请求体的 JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）。") from None
    except ValueError:
        raise ApiError(400, "bad_json", "请求体不是合法的 JSON。") from None


async def read_json(request: Request) -> Any:
    """The request body as JSON; ApiError 400 when it is empty or not JSON."""
    body = await request.body()
    if not body.strip():
        raise ApiError(400, "bad_request", "请求体为空：请发送 JSON，例如 {\"question\": \"孵化器最多能补多少？\"}。")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "请求体不是 UTF-8 编码的 JSON。") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "bad_json", f"请求体不是合法的 JSON（{exc.msg}，第 {exc.lineno} 行）。") from None
    except RecursionError:
        raise ApiError(400, "bad_json", f"请求体的 JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）。") from None
    except ValueError:   # e.g. an integer with more digits than Python converts
        raise ApiError(400, "bad_json", "请求体中有无法处理的数值。") from None
    check_json_value(data)
    return data


def check_json_value(data: Any) -> None:
    """Reject JSON nested deeper than ``MAX_JSON_DEPTH`` or holding strings that are not valid Unicode.

    JSON may spell lone UTF-16 surrogates (``"\\ud800"``); Python keeps them in ``str``, but they cannot be
    encoded, stored or sent back, so they are refused here rather than failing later.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ApiError(400, "bad_json", f"请求体的 JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）。")
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "bad_unicode", "请求中含有无效的 Unicode 字符（孤立的代理码位），请检查文本编码。") from None


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "请求体必须是 JSON 对象。")
    return data


def _optional_str(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "bad_type", f"{key} 必须是字符串。")
    if len(value) > limit:
        raise ApiError(400, "too_long", f"{key} 过长（上限 {limit} 字）。")
    return value


def parse_ask(data: Any) -> tuple[list[str], str | None]:
    """``{"question": str}`` or ``{"turns": [str, ...]}`` (plus optional ``"id"``) → turns and id.

    Only the shape is checked here; the turns themselves (their number, each question) are checked once, by the
    assistant that answers them (``PolicyAssistant.ask``), and its refusal becomes a 400 (:func:`refused_input`).
    """
    data = _object(data)
    question, turns = data.get("question"), data.get("turns")
    if question is not None and turns is not None:
        raise ApiError(400, "bad_request", "question 与 turns 只能提供一个。")
    if turns is None:
        if question is None:
            raise ApiError(400, "bad_request", "缺少 question（字符串）或 turns（字符串数组）。")
        if not isinstance(question, str):
            raise ApiError(400, "bad_type", "question 必须是字符串。")
        turns = [question]
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise ApiError(400, "bad_type", "turns 必须是字符串数组。")
    if not turns:
        raise ApiError(400, "empty", "turns 不能为空。")
    return list(turns), _optional_str(data, "id", MAX_ID)


def parse_search(data: Any) -> tuple[str, int]:
    data = _object(data)
    query, k = data.get("query"), data.get("k", 5)
    if query is None:
        raise ApiError(400, "bad_request", "缺少 query（字符串）。")
    if not isinstance(query, str):
        raise ApiError(400, "bad_type", "query 必须是字符串。")
    if isinstance(k, bool) or not isinstance(k, int):
        raise ApiError(400, "bad_type", "k 必须是整数。")
    if not 1 <= k <= MAX_K:
        raise ApiError(400, "bad_value", f"k 必须在 1 到 {MAX_K} 之间。")
    return query, k


def parse_doc(data: dict[str, Any]) -> str | None:
    """The optional ``"doc"`` of /api/ask and /api/search: a document id to answer from (checked by the assistant,
    which knows the corpus: an unknown id is a 400 ``unknown_document``)."""
    return _optional_str(data, "doc", MAX_ID) or None


def parse_feedback(data: Any, max_chars: int, max_turns: int) -> dict[str, Any]:
    """``{"rating", "question" | "turns", "answer"?, "comment"?}`` checked with the rules /api/ask applies.

    The question and every turn go through ``assistant.question_text.clean_question`` (what /api/ask refuses —
    empty, over ``max_chars``, only control/bidi/zero-width marks or emoji — is refused here too), and are stored
    as /api/ask reads them. Nothing is cut: a comment over ``MAX_COMMENT`` characters is a 400.
    """
    data = _object(data)
    rating = data.get("rating")
    if rating not in ("up", "down"):
        raise ApiError(400, "bad_value", "rating 必须是 \"up\" 或 \"down\"。")
    question = data.get("question")
    turns = data.get("turns")
    if turns is not None and (not isinstance(turns, list) or not all(isinstance(t, str) for t in turns)):
        raise ApiError(400, "bad_type", "turns 必须是字符串数组。")
    if turns is not None and len(turns) > max_turns:
        raise ApiError(400, "too_many_turns", _too_many_turns(max_turns))
    if question is None and turns:
        question = turns[-1]
    if question is None:
        raise ApiError(400, "bad_request", "缺少 question（字符串）或 turns。")
    if not isinstance(question, str):
        raise ApiError(400, "bad_type", "question 必须是字符串。")
    texts = [question, *(turns or [])]
    cleaned = []
    for number, text in enumerate(texts):
        try:
            cleaned.append(clean_question(text, max_chars))
        except BadInput as exc:
            exc.lang = language_of([*(turns or [])[:number], question] if number else [*(turns or []), question])
            where = (f"turns 第 {number} 轮：", f"turns, turn {number}: ") if number else ("question：", "question: ")
            raise ApiError(400, "bad_input", where[exc.lang == "en"] + str(exc), exc.lang) from None
    answer = data.get("answer")
    if answer is not None and not isinstance(answer, dict):
        raise ApiError(400, "bad_type", "answer 必须是 JSON 对象（/api/ask 的返回值）。")
    comment = _optional_str(data, "comment", MAX_COMMENT) or ""
    return {"rating": rating, "question": cleaned[0], "turns": cleaned[1:] or cleaned[:1], "answer": answer or {},
            "comment": comment}


def refused_input(exc: BadInput, turns: int = 1) -> ApiError:
    """The 400 for a question or conversation the assistant refused (``turns``: how many the request had), in the
    language of the question (``exc.lang``)."""
    if isinstance(exc, TooManyTurns):
        return ApiError(400, "too_many_turns", _too_many_turns(exc.limit, exc.lang), exc.lang)
    prefix = ""
    if exc.turn is not None and turns > 1:
        prefix = f"Turn {exc.turn}: " if exc.lang == "en" else f"第 {exc.turn} 轮："
    return ApiError(400, "bad_input", prefix + str(exc), exc.lang)


def _too_many_turns(limit: int, lang: Lang = "zh") -> str:
    if lang == "en":
        return f"The conversation has too many turns (the limit is {limit})."
    return f"对话轮次过多（上限 {limit} 轮）。"
