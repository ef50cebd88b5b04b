"""Masking rules, property-tested with hypothesis (Python reference implementations).

For every rule: it never raises, keeps nulls null, is idempotent when it says so, keeps
the format it promises, and never outputs a value that validates as an ID (GB 11643), a
card (Luhn) or a mobile number. The Spark implementations are held to the same outputs by
tests/integration/test_masking_spark.py.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sandbox.leaks import identifiers_in
from sandbox.masking import (
    BUILTIN_RULES,
    DEFAULT_RULES,
    MaskingContext,
    MaskingRule,
    PolicyError,
    make_rule,
    registry,
)
from sandbox.pii import COMPOUND_SURNAMES, SURNAMES
from sandbox.validators import PLATE_PROVINCES, id_check_char, luhn_check_digit

CTX = MaskingContext(secret=b"unit-test-secret-0123456789abcdef")
SETTINGS = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1).map(str)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.integers(110000, 829999))
    born = draw(st.dates(date(1900, 1, 1), date(2020, 12, 31)))
    seq = draw(st.integers(0, 999))
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    check = id_check_char(first17)
    return first17 + draw(st.sampled_from([check, check.lower()]))


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    number = f"1{draw(st.integers(3, 9))}{draw(st.integers(0, 999_999_999)):09d}"
    sep = draw(st.sampled_from(["", " ", "-"]))
    body = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
    return draw(st.sampled_from(["", "+86 ", "0086", "86", "+86-", "(+86)"])) + body


@st.composite
def cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(16, 19))
    payload = "62" + "".join(draw(digits) for _ in range(length - 3))
    number = payload + luhn_check_digit(payload)
    if draw(st.booleans()):
        number = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


@st.composite
def chinese_names(draw: st.DrawFn) -> str:
    surname = draw(st.sampled_from(sorted(SURNAMES) + sorted(COMPOUND_SURNAMES)))
    given = draw(
        st.text(alphabet="伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英", min_size=1, max_size=2)
    )
    return surname + given


emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=12),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10),
    st.sampled_from(["com", "cn", "net", "org.cn"]),
)
plates = st.builds(
    lambda p, letter, serial: p + letter + serial,
    st.sampled_from(PLATE_PROVINCES[:31]),
    st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ"),
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=5, max_size=6),
)
addresses = st.builds(
    lambda region, road, no: f"{region}{road}路{no}号",
    st.sampled_from(
        [
            "北京市朝阳区",
            "浙江省杭州市西湖区",
            "新疆维吾尔自治区乌鲁木齐市天山区",
            "江苏省苏州市昆山市",
        ]
    ),
    st.sampled_from(["人民", "解放", "中山", "建设"]),
    st.integers(1, 999),
)
date_texts = st.dates(date(1900, 1, 1), date(2030, 12, 31)).flatmap(
    lambda d: st.sampled_from(
        [d.isoformat(), f"{d.year}/{d.month}/{d.day}", d.strftime("%Y%m%d"), d]
    )
)
free_texts = st.builds(
    lambda a, pii, b: f"{a}{pii}{b}",
    st.text(alphabet="联系电话请回访身份证号已核验车牌违停邮箱卡号，。 ", max_size=8),
    st.one_of(resident_ids(), mobiles(), cards(), emails, plates, chinese_names()),
    st.text(alphabet="联系电话请回访身份证号已核验车牌违停邮箱卡号，。 ", max_size=8),
)
# Adversarial text: digits, separators, stars, letters and Han characters mixed.
any_text = st.text(
    alphabet=st.sampled_from(
        [*"0123456789 -.()+*@xX_abcZ张欧阳伟省市区路号·", "\n", "\t", "\u3000"]
    ),
    max_size=40,
)

DOMAIN = {
    "id_keep6_4": st.one_of(resident_ids(), any_text),
    "mobile_keep3_4": st.one_of(mobiles(), any_text),
    "card_keep6_4": st.one_of(cards(), any_text),
    "plate_keep_prefix": st.one_of(plates, any_text),
    "email_keep_first": st.one_of(emails, any_text),
    "name_keep_surname": st.one_of(chinese_names(), any_text),
    "address_keep_region": st.one_of(addresses, any_text),
    "date_generalize": date_texts,
    "date_shift": date_texts,
    "numeric_round": st.one_of(st.integers(-(10**12), 10**12), st.floats(-1e9, 1e9)),
    "numeric_bucket": st.one_of(st.integers(-(10**12), 10**12), st.floats(-1e9, 1e9)),
    "numeric_noise": st.integers(-(10**9), 10**9),
    "pseudonym": st.one_of(mobiles(), resident_ids(), any_text),
    "free_text_redact": st.one_of(free_texts, any_text),
    "redact": any_text,
    "keep": any_text,
    "drop": any_text,
}
MASKING = [name for name in DOMAIN if name not in ("keep", "drop")]


def rule(name: str, **params: object) -> MaskingRule:
    return make_rule(name, params, CTX)


def test_every_builtin_rule_is_covered_and_documented() -> None:
    assert {r.name for r in BUILTIN_RULES} == set(DOMAIN)
    for r in BUILTIN_RULES:
        assert r.note and r.version >= 1
    assert set(DEFAULT_RULES) >= {"id_card", "mobile", "name", "address", "email"}
    assert all(name in registry() for name, _ in DEFAULT_RULES.values())


@pytest.mark.parametrize("name", list(DOMAIN))
def test_nulls_stay_null(name: str) -> None:
    assert rule(name).python(None) is None


@pytest.mark.parametrize("name", MASKING)
@SETTINGS
@given(data=st.data())
def test_rule_properties(name: str, data: st.DataObject) -> None:
    r = rule(name)
    value = data.draw(DOMAIN[name])
    once = r.python(value)
    if r.idempotent:
        assert r.python(once) == once, (value, once)
    if isinstance(once, str):
        if r.output_regex and once != "":
            assert re.fullmatch(r.output_regex, once), (value, once)
        assert identifiers_in(once) == [], (value, once)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("id_keep6_4", "11010519491231002X", "110105********002X"),
        ("mobile_keep3_4", "+86 138-1234-5678", "138****5678"),
        ("mobile_keep3_4", "0086 13812345678", "138****5678"),
        ("card_keep6_4", "6222 0212 3456 7890 128", "622202*********0128"),
        ("name_keep_surname", "张伟", "张*"),
        ("name_keep_surname", "欧阳娜娜", "欧阳**"),
        ("name_keep_surname", "司马光", "司马*"),
        ("name_keep_surname", "John Smith", "J*** S****"),
        ("address_keep_region", "浙江省杭州市西湖区文三路90号", "浙江省杭州市西湖区****"),
        ("address_keep_region", "新疆维吾尔自治区乌鲁木齐市天山区解放路1号", "新疆维吾尔自治区乌鲁木齐市天山区****"),
        ("address_keep_region", "unknown place", "****"),
        ("email_keep_first", "zhangsan@qq.com", "z***@qq.com"),
        ("plate_keep_prefix", "粤BD12345", "粤B*****"),
        ("date_generalize", "1985-03-12", "1985-01-01"),
        ("date_generalize", date(1985, 3, 12), date(1985, 1, 1)),
        ("numeric_bucket", 123_456, 120_000),
        ("numeric_round", 123_456, 123_000),
        ("free_text_redact", "联系电话13812345678，请回访", "联系电话138****5678，请回访"),
        ("free_text_redact", "车牌粤BD12345违停", "车牌粤B******违停"),  # length kept
        ("free_text_redact", "患者刘德明（+86）13812345678", "患者刘*******138****5678"),
    ],
)  # fmt: skip
def test_documented_examples(name: str, value: object, expected: object) -> None:
    assert rule(name).python(value) == expected


def test_generalize_to_month() -> None:
    assert rule("date_generalize", to="month").python("1985-03-12") == "1985-03-01"


@SETTINGS
@given(d=st.dates(date(1900, 1, 1), date(2030, 12, 31)), days=st.integers(1, 60))
def test_date_shift_is_bounded_and_keyed(d: date, days: int) -> None:
    shifted = rule("date_shift", max_days=days).python(d)
    assert abs((shifted - d).days) <= days
    assert rule("date_shift", max_days=days).python(d) == shifted  # same key, same shift


@SETTINGS
@given(x=st.integers(1, 10**9))
def test_numeric_noise_is_bounded(x: int) -> None:
    noisy = rule("numeric_noise", ratio=0.1).python(x)
    assert abs(noisy - x) <= 0.1 * x + 1


def test_pseudonyms_join_across_datasets_and_need_the_key() -> None:
    a = rule("pseudonym").python("13812345678")
    assert a == rule("pseudonym").python(" 13812345678 ")  # same input, same token
    assert a != rule("pseudonym").python("13812345679")
    other_key = make_rule("pseudonym", {}, MaskingContext(b"another-platform-secret-value!!"))
    assert other_key.python("13812345678") != a
    assert re.fullmatch(r"tk_[a-p]{32}", a)
    assert rule("pseudonym", algorithm="sm3").python("13812345678") not in (a, None)


def test_free_text_masks_names_with_the_shipped_dictionary() -> None:
    out = rule("free_text_redact").python("客户王小明来电咨询，已转交李华处理")
    assert "王小明" not in out and "王**" in out
    without_names = rule("free_text_redact", names=False).python("客户王小明来电咨询")
    assert "王小明" in without_names


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("date_generalize", {"to": "week"}, "year"),
        ("numeric_bucket", {"width": 0}, "positive"),
        ("numeric_noise", {"ratio": 2}, "between"),
        ("pseudonym", {"algorithm": "md5"}, "sha256"),
        ("keep", {"x": 1}, "no parameter"),
        ("nonsense", {}, "unknown masking rule"),
    ],
)
def test_bad_rule_parameters(name: str, params: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        make_rule(name, params, CTX)


@example("+86 (138) 1234-5678")
@example("6222.0212.3456.7890.128")
@SETTINGS
@given(text=any_text)
def test_free_text_never_leaves_an_identifier(text: str) -> None:
    assert identifiers_in(rule("free_text_redact").python(text)) == []
