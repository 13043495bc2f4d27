"""Chinese numerals, amounts in questions, and clause references."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexing.numerals import chinese_to_int, find_amounts_wan, fold_width, format_wan, int_to_chinese
from indexing.references import find_clause_refs, parse_clause_ref


@pytest.mark.parametrize("text,value", [("一", 1), ("十", 10), ("十六", 16), ("二十六", 26), ("一百零五", 105),
                                        ("两千", 2000), ("三万五千", 35000), ("一亿", 100_000_000)])
def test_chinese_to_int(text, value):
    assert chinese_to_int(text) == value


@given(st.integers(min_value=1, max_value=9999))
def test_clause_numbers_round_trip(number):
    assert chinese_to_int(int_to_chinese(number)) == number


@pytest.mark.parametrize("text,amount", [
    ("能补300万吗", 300), ("能补三百万吗", 300), ("300万元", 300), ("3,000,000元", 300), ("0.03亿", 300),
    ("两百万", 200), ("一千万", 1000), ("１０００万", 1000), ("1.5亿", 15000), ("五十万块", 50), ("十万", 10),
])
def test_amounts_are_normalised_to_wan(text, amount):
    assert [a for a, _, _ in find_amounts_wan(text)] == [amount]


@pytest.mark.parametrize("text", ["2022年", "有效期5年", "资助期限不超过3年", "第十六条", "四大业态", "哪一块", "千万不要", "百万级"])
def test_years_and_numbers_are_not_amounts(text):
    assert find_amounts_wan(text) == []


def test_format_wan():
    assert format_wan(200) == "200万元" and format_wan(15000) == "1.5亿元"


@given(st.text(max_size=80))
def test_amount_finder_never_crashes(text):
    for amount, start, end in find_amounts_wan(text):
        assert amount >= 0 and 0 <= start < end <= len(text)


@pytest.mark.parametrize("text", ["十六", "16", "（十六）", "第十六条", "16条", "(16)", "第16款", "十六条", "１６"])
def test_whole_string_references(text):
    assert parse_clause_ref(text, 26) == "十六"


def test_inline_references_and_non_references():
    assert find_clause_refs("第十六条和（十七）有什么区别", 26) == ["十六", "十七"]
    assert find_clause_refs("16条里说的期限", 26) == ["十六"]
    assert find_clause_refs("能补300万吗", 26) == []
    assert find_clause_refs("2022年起实施", 26) == []
    assert find_clause_refs("第三十条", 26) == []


@given(st.text(max_size=60))
def test_reference_parser_never_crashes(text):
    for key in find_clause_refs(text, 26):
        assert 1 <= chinese_to_int(key) <= 26


def test_fold_width():
    assert fold_width("ＶＲ１６") == "VR16"
    assert fold_width("（十六）") == "（十六）"
