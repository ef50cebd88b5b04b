"""Identifier validators against published examples and their edge cases."""

from __future__ import annotations

import random

import pytest

from sandbox import validators as v


def test_gb11643_published_example_and_check_digit() -> None:
    # The worked example of GB 11643-1999 (a Beijing Chaoyang number ending in X).
    assert v.id_check_char("11010519491231002") == "X"
    assert v.is_resident_id("11010519491231002X")
    assert v.is_resident_id("11010519491231002x")
    assert not v.is_resident_id("110105194912310021")  # wrong check digit
    assert not v.is_resident_id("11010519491331002X")  # month 13
    assert not v.is_resident_id("01010519491231002X")  # no region starts with 0
    assert not v.is_resident_id("1101051949123100")  # too short


def test_luhn_known_values_and_check_digit_roundtrip() -> None:
    assert v.luhn_ok("79927398713")  # the classic Luhn example
    assert not v.luhn_ok("79927398710")
    rng = random.Random(3)
    for _ in range(500):
        payload = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
        digit = v.luhn_check_digit(payload)
        assert v.luhn_ok(payload + digit)
        assert sum(v.luhn_ok(payload + d) for d in "0123456789") == 1
    with pytest.raises(ValueError):
        v.luhn_check_digit("12a")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-138-1234-5678", "13812345678"),
        ("(+86)13812345678", "13812345678"),
        ("12812345678", None),  # no 12x mobile prefix
        ("1381234567", None),
        ("010-12345678", None),  # landline
    ],
)
def test_mobile_normalisation(value: str, expected: str | None) -> None:
    assert v.normalize_mobile(value) == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [("京A12345", True), ("粤BD12345", True), ("沪A1234D", True), ("京AI2345", False),
     ("京A1234", False), ("XA12345", False), ("苏e12345", True)],
)  # fmt: skip
def test_plates(value: str, ok: bool) -> None:
    assert v.is_plate(value) is ok


def test_find_identifiers_whole_spans_only() -> None:
    text = "车牌粤BD12345违停，备用车牌苏e12345；身份证11010519491231002X；电话+86 138-1234-5678"
    found = v.find_identifiers(text)
    spans = {kind: [text[a:b] for a, b in s] for kind, s in found.items()}
    assert spans["plate"] == ["粤BD12345", "苏e12345"]  # new-energy plate not cut short
    assert spans["id_card"] == ["11010519491231002X"]
    assert spans["mobile"] == ["+86 138-1234-5678"]


def test_find_identifiers_ignores_lookalikes() -> None:
    first17 = "11010519491231002"
    wrong = first17 + ("1" if v.id_check_char(first17) != "1" else "2")
    text = f"订单号 {wrong} 金额 12345678901234567"
    assert v.find_identifiers(text) == {}  # a bad ID's first 17 digits are not a card
