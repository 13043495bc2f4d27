"""Chinese numerals: clause numbers (十六 ↔ 16) and money amounts (三百万, 0.03亿 → 万元)."""

from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9,
           "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_LARGE = {"万": 10_000, "亿": 100_000_000}
_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS) + "".join(_LARGE)


def chinese_to_int(text: str) -> int:
    """Parse a Chinese numeral such as 十六, 二十六, 一百零五, 两千 or 三万五千.

    Args:
        text: the numeral, without brackets or 第/条.

    Returns:
        The integer value.

    Raises:
        ValueError: if ``text`` is not a well-formed Chinese numeral.
    """
    if not text or any(ch not in _DIGITS and ch not in _UNITS and ch not in _LARGE for ch in text):
        raise ValueError(f"不是中文数字: {text!r}")
    total = 0      # sum of completed 万/亿 sections
    section = 0    # value below the current large unit
    digit: int | None = None
    for ch in text:
        if ch in "零〇":
            digit = None if digit is None else digit  # a placeholder: 一百零五
            if text in ("零", "〇"):
                return 0
            continue
        if ch in _DIGITS:
            if digit is not None and _DIGITS[ch] != 0:
                # 一二 is not a numeral; 二零二二 style is handled by the caller.
                raise ValueError(f"不是中文数字: {text!r}")
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:
            section += digit or 0
            total = (total + section) * _LARGE[ch] if ch == "亿" else total + section * _LARGE[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


_SMALL_NAMES = "零一二三四五六七八九"


def int_to_chinese(number: int) -> str:
    """Render 1–9999 the way clause numbers are written (十六, 二十六, 一百零五).

    Args:
        number: a positive integer below 10,000.

    Returns:
        The Chinese numeral.
    """
    if not 0 < number < 10_000:
        raise ValueError(f"条款编号超出范围: {number}")
    parts: list[str] = []
    units = [(1000, "千"), (100, "百"), (10, "十"), (1, "")]
    pending_zero = False
    for value, name in units:
        d = number // value % 10
        if d == 0:
            if parts:
                pending_zero = True
            continue
        if pending_zero:
            parts.append("零")
            pending_zero = False
        parts.append(_SMALL_NAMES[d] + name)
    result = "".join(parts)
    # 一十六 → 十六 (only at the start: 一百一十 keeps its 一).
    return result[1:] if result.startswith("一十") else result


def fold_width(text: str) -> str:
    """Fold full-width ASCII (１６, ＶＲ) to half-width; keep Chinese punctuation such as （）。"""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
            out.append(chr(code - 0xFEE0))
        elif ch == "\u3000":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


_AMOUNT_RE = re.compile(
    r"(?P<num>\d[\d,，]*(?:\.\d+)?|[" + _NUMERAL_CHARS + r"]+(?:点[" + "".join(_DIGITS) + r"]+)?)"
    r"\s*(?P<unit>亿元|亿|万元|万块|万|千万|百万|元)"
)


# English amounts: "RMB 2 million", "5 million yuan", "¥500,000", "CNY 1.5m". Only with a yuan marker: "USD 80
# million" is not an amount of this measure.
_EN_SCALE = {"million": 100.0, "mn": 100.0, "m": 100.0, "thousand": 0.1, "k": 0.1, "billion": 100_000.0, "bn": 100_000.0}
_EN_FIGURE = r"(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<scale>million|mn|m|thousand|k|billion|bn)?\b"
_EN_AMOUNT_RE = re.compile(
    r"(?:\b(?:rmb|cny)\s*|¥\s*)" + _EN_FIGURE + r"(?:\s*(?:yuan|rmb|cny)\b)?"
    r"|" + _EN_FIGURE.replace("num>", "num2>").replace("scale>", "scale2>") + r"\s*(?:yuan|rmb|cny)\b",
    re.IGNORECASE,
)


def _parse_number(token: str) -> float:
    token = token.replace(",", "").replace("，", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token)
    if "点" in token:
        whole, frac = token.split("点", 1)
        return chinese_to_int(whole) + float("0." + "".join(str(_DIGITS[c]) for c in frac))
    return float(chinese_to_int(token))


def _unit_in_wan(unit: str) -> float:
    if unit.startswith("亿"):
        return 10_000.0
    if unit == "千万":
        return 1_000.0
    if unit == "百万":
        return 100.0
    if unit.startswith("万"):
        return 1.0
    return 0.0001  # 元 / 块


def find_amounts_wan(text: str) -> list[tuple[float, int, int]]:
    """Find money amounts in free text and convert them to 万元.

    Handles 300万, 300万元, 三百万, 两百万, 3,000,000元, 0.03亿, 一点五亿, 五百万块, and in English
    RMB 3 million, 3 million yuan, ¥3,000,000 (a figure needs a yuan marker: USD or a bare "3 million" is none).

    Args:
        text: a question or an answer.

    Returns:
        ``(amount_wan, start, end)`` for each amount, in order of appearance.
    """
    folded = fold_width(text)
    found: list[tuple[float, int, int]] = []
    for match in _AMOUNT_RE.finditer(folded):
        number_text, unit = match.group("num"), match.group("unit")
        # A bare Chinese numeral glued to 万 (三百万) is split as 三百 + 万 by the regex;
        # 三千万 arrives as 三千 + 万 too, which is correct.
        if all(ch in "百千万亿佰仟" for ch in number_text):
            continue  # "千万不要", "百万级": a unit word, not a figure
        try:
            value = _parse_number(number_text)
        except (ValueError, KeyError):
            continue
        # "3,000,000元" → 300万; "20元" is not an award figure but still an amount.
        wan = round(value * _unit_in_wan(unit), 4)
        found.append((wan, match.start(), match.end()))
    for match in _EN_AMOUNT_RE.finditer(folded):
        number_text = match.group("num") or match.group("num2")
        scale = (match.group("scale") or match.group("scale2") or "").lower()
        value = float(number_text.replace(",", ""))
        wan = round(value * _EN_SCALE[scale] if scale else value / 10_000, 4)
        found.append((wan, match.start(), match.end()))
    return sorted(found, key=lambda item: item[1])


def format_rmb(amount_wan: float) -> str:
    """An amount in 万元 as English readers write it: 200 → RMB 2 million, 50 → RMB 500,000, 1.5 → RMB 15,000."""
    yuan = round(amount_wan * 10_000, 2)
    if yuan >= 1_000_000_000:
        return f"RMB {yuan / 1_000_000_000:g} billion"
    if yuan >= 1_000_000:
        return f"RMB {yuan / 1_000_000:g} million"
    return f"RMB {yuan:,.0f}" if yuan == int(yuan) else f"RMB {yuan:,.2f}"


def format_wan(amount_wan: float) -> str:
    """Render an amount in 万元 the way the measure writes it: 200万元, 0.5万元, 1.2亿元."""
    if amount_wan >= 10_000:
        value = amount_wan / 10_000
        return f"{value:g}亿元"
    return f"{amount_wan:g}万元"
