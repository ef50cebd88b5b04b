"""sandbox.pii: PII proposals for a column from its header and a sample of its values.

Samples are synthetic and generated here (check characters with ``id_check_char``, card
numbers with ``luhn_check_digit``); every proposal made through ``classify`` is also checked
for the one hard rule of evidence strings: no sampled value is ever quoted.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from hub.classification import PII_TYPES, ColumnProfile, Level, Proposal
from sandbox.pii import (
    COMPOUND_SURNAMES,
    SURNAMES,
    PiiClassifier,
    detect_value,
    header_hints,
    split_chinese_name,
)
from sandbox.validators import id_check_char, is_resident_id, luhn_check_digit, luhn_ok

N = 240
AREAS = ("110105", "310104", "440305", "510107", "330106", "420111", "610113", "220102")
MOBILE_PREFIXES = ("130", "135", "138", "139", "150", "158", "166", "177", "186", "189", "199")
CARD_BINS = ("622202", "621700", "622848", "623668", "621483", "622588")
TEST_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹"
TEST_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "慕容", "东方", "令狐")
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰玉梅红霞建国志文嘉怡子轩浩然"
FREE_TEXT = (
    "客户来电咨询账单问题，已转交二线处理。",
    "用户反馈页面加载缓慢，建议优化缓存。",
    "已电话回访，客户表示满意。",
    "资料不全，需补充材料后再次提交。",
    "窗口办理，排队约二十分钟。",
    "系统自动生成，无需处理。",
    "申请已受理，预计三个工作日内完成审核。",
    "Customer asked about the refund policy and was satisfied.",
)


# Generators ------------------------------------------------------------------------------


def _rng(seed: int) -> random.Random:
    return random.Random(seed)


def _born(r: random.Random) -> date:
    return date(1950, 1, 1) + timedelta(days=r.randrange(365 * 55))


def _first17(r: random.Random) -> str:
    return r.choice(AREAS) + _born(r).strftime("%Y%m%d") + f"{r.randrange(1000):03d}"


def make_ids(r: random.Random, n: int = N) -> list[str]:
    """Valid resident IDs; about a fifth end in a check character X, written lowercase."""
    out = []
    while len(out) < n:
        first17 = _first17(r)
        check = id_check_char(first17)
        if check == "X":
            out.append(first17 + "x")
        elif len(out) % 5 or r.random() < 0.2:
            out.append(first17 + check)
    return out


def make_wrong_ids(r: random.Random, n: int = N) -> list[str]:
    """Well-formed 18-character IDs whose check character is wrong."""
    out = []
    for _ in range(n):
        first17 = _first17(r)
        right = id_check_char(first17)
        out.append(first17 + r.choice([c for c in "0123456789X" if c != right]))
    return out


def make_cards(r: random.Random, n: int = N) -> list[str]:
    out = []
    for _ in range(n):
        length = r.choice((16, 16, 16, 19))
        payload = r.choice(CARD_BINS) + "".join(r.choices("0123456789", k=length - 7))
        card = payload + luhn_check_digit(payload)
        out.append(
            " ".join(card[i : i + 4] for i in range(0, length, 4)) if r.random() < 0.3 else card
        )
    return out


def make_bad_cards(r: random.Random, n: int = N) -> list[str]:
    """16-digit numbers that fail Luhn."""
    out = []
    for _ in range(n):
        payload = "".join(r.choices("0123456789", k=15))
        right = luhn_check_digit(payload)
        out.append(payload + r.choice([d for d in "0123456789" if d != right]))
    return out


def _mobile(r: random.Random) -> str:
    return r.choice(MOBILE_PREFIXES) + "".join(r.choices("0123456789", k=8))


def make_mobiles(r: random.Random, n: int = N, mixed: bool = True) -> list[str]:
    formats = (
        lambda m: m,
        lambda m: f"+86 {m[:3]} {m[3:7]} {m[7:]}",
        lambda m: f"+86-{m[:3]}-{m[3:7]}-{m[7:]}",
        lambda m: f"0086{m}",
        lambda m: f"{m[:3]}-{m[3:7]}-{m[7:]}",
        lambda m: f"{m[:3]} {m[3:7]} {m[7:]}",
        lambda m: f"+86{m}",
    )
    return [r.choice(formats if mixed else formats[:1])(_mobile(r)) for _ in range(n)]


def _chinese_name(r: random.Random) -> str:
    surname = r.choice(TEST_COMPOUND) if r.random() < 0.15 else r.choice(TEST_SURNAMES)
    return surname + "".join(r.choices(GIVEN_CHARS, k=r.choice((1, 2, 2))))


def make_names(r: random.Random, n: int = N) -> list[str]:
    return [_chinese_name(r) for _ in range(n)]


def make_western_names(r: random.Random, n: int = N) -> list[str]:
    first = ("John", "Mary", "Alice", "Robert", "Linda", "James", "Wei", "Emma", "Oliver", "Zoe")
    last = ("Smith", "Johnson", "Brown", "O'Neil", "Garcia", "Miller", "Zhang", "Davis", "Lee")
    return [f"{r.choice(first)} {r.choice(last)}" for _ in range(n)]


def make_addresses(r: random.Random, n: int = N) -> list[str]:
    regions = (
        ("广东省", "深圳市", "南山区"),
        ("浙江省", "杭州市", "西湖区"),
        ("四川省", "成都市", "武侯区"),
        ("湖北省", "武汉市", "洪山区"),
        ("", "北京市", "海淀区"),
        ("", "上海市", "浦东新区"),
    )
    roads = ("科技路", "文三路", "人民南路", "珞喻路", "中关村大街", "世纪大道", "解放街", "建设巷")
    out = []
    for _ in range(n):
        province, city, district = r.choice(regions)
        road, no = r.choice(roads), r.randint(1, 999)
        form = r.randrange(3)
        if form == 0:
            unit = f"{r.randint(1, 30)}栋{r.randint(1, 6)}单元{r.randint(101, 2808)}室"
            out.append(f"{province}{city}{district}{road}{no}号{unit}")
        elif form == 1:
            out.append(f"{city}{district}{road}{no}号")
        else:
            out.append(f"{province}{city}{district}红星镇新华村{r.randint(1, 12)}组{no}号")
    return out


def make_plates(r: random.Random, n: int = N) -> list[str]:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    out = []
    for _ in range(n):
        head = r.choice("京沪粤浙苏川鄂湘") + r.choice(letters)
        if r.random() < 0.2:
            out.append(head + r.choice("DF") + "".join(r.choices("0123456789", k=5)))
        else:
            out.append(head + "".join(r.choices(letters + "0123456789", k=5)))
    return out


def make_emails(r: random.Random, n: int = N) -> list[str]:
    users = ("zhang.wei", "lina88", "wangfang", "liu_yang", "chen.jie", "k.zhao", "sun-li")
    domains = ("example.com", "mail.example.cn", "qq.example.net", "corp.example.org")
    return [f"{r.choice(users)}{r.randrange(10000)}@{r.choice(domains)}" for _ in range(n)]


def make_dates(r: random.Random, n: int = N) -> list[str]:
    formats = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "{y}年{m}月{d}日")
    out = []
    for _ in range(n):
        born, fmt = _born(r), r.choice(formats)
        out.append(
            fmt.format(y=born.year, m=born.month, d=born.day) if "{" in fmt else born.strftime(fmt)
        )
    return out


def make_timestamps(r: random.Random, n: int = N) -> list[str]:
    start = date(2021, 1, 1)
    days = [start + timedelta(days=r.randrange(1000)) for _ in range(n)]
    return [f"{day} {r.randrange(24):02d}:{r.randrange(60):02d}:00" for day in days]


def make_free_text(r: random.Random, n: int = N) -> list[str]:
    return [r.choice(FREE_TEXT) for _ in range(n)]


def with_nulls(r: random.Random, values: list[str], share: float = 0.15) -> list[str | None]:
    return [r.choice((None, "", "  ")) if r.random() < share else v for v in values]


# Helpers ---------------------------------------------------------------------------------


def assert_quotes_no_value(proposal: Proposal, values: list[str | None]) -> None:
    for value in values:
        if value is None or value.strip().lower() in {"", "null", "none"}:
            continue
        text = value.strip()
        # Counts like "240/240" may coincide with short numbers; anything else must not appear.
        if text.isdigit() and len(text) <= 4:
            continue
        if len(text) >= 2:
            assert text not in proposal.evidence, "evidence quotes a sampled value"


def classify(name: str, values: list[str | None], data_type: str = "string") -> Proposal:
    proposal = PiiClassifier().propose(ColumnProfile(name, data_type, values))
    assert proposal.pii_type in PII_TYPES
    assert 0.0 <= proposal.confidence <= 1.0
    assert "\n" not in proposal.evidence
    assert_quotes_no_value(proposal, values)
    return proposal


GENERATORS = {
    "id_card": make_ids,
    "mobile": make_mobiles,
    "email": make_emails,
    "plate": make_plates,
    "bank_card": make_cards,
    "name": make_names,
    "address": make_addresses,
}
EXPECTED_LEVEL = {
    "id_card": Level.L4,
    "bank_card": Level.L4,
    "mobile": Level.L3,
    "email": Level.L3,
    "plate": Level.L3,
    "name": Level.L3,
    "address": Level.L3,
}


# Detection from values alone -------------------------------------------------------------


@pytest.mark.parametrize("pii_type", sorted(GENERATORS))
def test_each_type_is_detected_from_values_under_an_uninformative_header(pii_type: str) -> None:
    values = GENERATORS[pii_type](_rng(1))
    proposal = classify("col_a", values)
    assert proposal.pii_type == pii_type
    assert proposal.level is EXPECTED_LEVEL[pii_type]
    assert proposal.quasi_identifier is False
    assert proposal.confidence >= 0.8
    assert f"{N}/{N} non-null sampled values" in proposal.evidence
    assert "header hints" not in proposal.evidence


@pytest.mark.parametrize(
    ("header", "pii_type"),
    [
        ("身份证号", "id_card"),
        ("公民身份号码", "id_card"),
        ("手机号码", "mobile"),
        ("联系电话", "mobile"),
        ("电子邮箱", "email"),
        ("车牌号码", "plate"),
        ("银行卡号", "bank_card"),
        ("姓名", "name"),
        ("家庭住址", "address"),
        ("idCardNo", "id_card"),
        ("contact_phone", "mobile"),
        ("customer_name", "name"),
    ],
)
def test_chinese_and_english_headers_confirm_the_values(header: str, pii_type: str) -> None:
    r = _rng(2)
    values = with_nulls(r, GENERATORS[pii_type](r))
    proposal = classify(header, values)
    assert proposal.pii_type == pii_type
    assert f"header hints {pii_type}" in proposal.evidence
    assert proposal.confidence >= 0.9


def test_ids_with_lowercase_x_and_nulls() -> None:
    r = _rng(3)
    ids = make_ids(r)
    assert sum(v.endswith("x") for v in ids) >= 10
    values = with_nulls(r, ids, share=0.25)
    nulls = sum(v is None or not v.strip() for v in values)
    assert nulls > 20
    proposal = classify("col_a", values)
    assert proposal.pii_type == "id_card"
    assert proposal.level is Level.L4
    assert proposal.evidence.startswith(f"{N - nulls}/{N - nulls} non-null sampled values pass")
    assert "GB 11643" in proposal.evidence


def test_ids_that_also_pass_luhn_are_still_id_cards() -> None:
    r = _rng(4)
    ids: list[str] = []
    while len(ids) < N:
        candidate = make_ids(r, 1)[0]
        if luhn_ok(candidate):
            ids.append(candidate)
    assert classify("col_a", ids).pii_type == "id_card"
    assert classify("卡号", ids).pii_type == "id_card"


def test_mixed_mobile_formats_are_mobiles_not_cards() -> None:
    values = make_mobiles(_rng(5))
    assert any(v.startswith("+86 ") for v in values)
    assert any(v.startswith("+86-") for v in values)
    assert any(v.startswith("0086") for v in values)
    assert any(v[3] == "-" for v in values)
    assert classify("col_b", values).pii_type == "mobile"
    assert classify("account", values).pii_type == "mobile"


def test_header_plus_moderate_fraction_proposes_the_hinted_type() -> None:
    r = _rng(6)
    values = [
        _mobile(r) if i % 5 < 2 else str(r.randrange(10**7, 10**8)) for i in range(N)
    ]  # 40% mobiles, the rest 8-digit numbers
    hinted = classify("手机号", values)
    assert hinted.pii_type == "mobile"
    assert "header only" not in hinted.evidence
    assert 0.5 <= hinted.confidence < classify("手机号", make_mobiles(r)).confidence
    assert classify("col_a", values).pii_type == "none"


def test_chinese_names_with_compound_surnames() -> None:
    r = _rng(7)
    values = [r.choice(TEST_COMPOUND) + "".join(r.choices(GIVEN_CHARS, k=2)) for _ in range(N)]
    proposal = classify("col_a", values)
    assert proposal.pii_type == "name"
    assert proposal.level is Level.L3


def test_western_names_need_a_header_hint() -> None:
    values = make_western_names(_rng(8))
    assert classify("full_name", values).pii_type == "name"
    assert classify("col_a", values).pii_type == "none"


def test_a_hinted_name_column_may_repeat_few_people() -> None:
    r = _rng(9)
    people = make_names(r, 4)
    values = [r.choice(people) for _ in range(N)]
    assert classify("客户姓名", values).pii_type == "name"
    assert classify("col_a", values).pii_type == "none"  # a category, as far as values go


def test_category_words_that_start_with_a_surname_are_not_names() -> None:
    r = _rng(10)
    values = [r.choice(("高中", "黄金", "白银", "金牌", "文化")) for _ in range(N)]
    assert classify("col_a", values).pii_type == "none"


# Birth dates -----------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["出生日期", "birth_date", "dateOfBirth", "dob", "生日"])
def test_birth_dates_need_a_birth_header(header: str) -> None:
    values = make_dates(_rng(11))
    proposal = classify(header, values)
    assert proposal.pii_type == "birth_date"
    assert proposal.level is Level.L3
    assert proposal.quasi_identifier is True


def test_the_same_dates_without_a_birth_header_are_not_pii() -> None:
    proposal = classify("col_a", make_dates(_rng(11)))
    assert proposal.pii_type == "none"
    assert proposal.quasi_identifier is False


def test_birth_dates_in_a_date_typed_column() -> None:
    r = _rng(12)
    values = [f"{_born(r).isoformat()} 00:00:00" for _ in range(N)]
    assert classify("birthday", values, data_type="timestamp").pii_type == "birth_date"


def test_created_at_timestamps_are_not_pii() -> None:
    values = make_timestamps(_rng(13))
    proposal = classify("created_at", values, data_type="timestamp")
    assert proposal.pii_type == "none"
    assert proposal.level is Level.L1
    assert proposal.quasi_identifier is False


# Negatives -------------------------------------------------------------------------------


def test_18_digit_numbers_with_wrong_check_characters_are_not_ids() -> None:
    values = make_wrong_ids(_rng(14))
    assert not any(is_resident_id(v) for v in values)
    proposal = classify("col_a", values)
    assert proposal.pii_type == "none"
    assert proposal.level is Level.L1


def test_16_digit_numbers_failing_luhn_are_not_cards() -> None:
    values = make_bad_cards(_rng(15))
    assert classify("col_a", values).pii_type == "none"
    assert classify("order_no", values).pii_type == "none"


@pytest.mark.parametrize(
    ("header", "data_type", "make"),
    [
        ("order_no", "string", lambda r: f"SO{r.randrange(10**13, 10**14)}"),
        ("order_id", "integer", lambda r: str(r.randrange(10**15, 10**16))),
        ("amount", "decimal", lambda r: f"{r.uniform(0, 1e5):.2f}"),
        ("quantity", "integer", lambda r: str(r.randrange(1, 500))),
        ("status", "string", lambda r: r.choice(("paid", "shipped", "refunded"))),
    ],
)
def test_business_columns_are_not_pii(header: str, data_type: str, make) -> None:  # type: ignore[no-untyped-def]
    r = _rng(16)
    assert classify(header, [make(r) for _ in range(N)], data_type).pii_type == "none"


@pytest.mark.parametrize(
    "header", ["salary", "monthly_income", "月收入", "诊断结果", "accountBalance"]
)
def test_financial_and_health_headers_are_pipl_sensitive(header: str) -> None:
    r = _rng(17)
    proposal = classify(header, [f"{r.uniform(0, 1e5):.2f}" for _ in range(N)], "decimal")
    assert proposal.pii_type == "none"
    assert proposal.level is Level.L3  # PIPL sensitive personal information: L3 at least
    assert "PIPL sensitive" in proposal.evidence


def test_district_names_are_quasi_identifiers_not_names() -> None:
    r = _rng(18)
    districts = ("东城区", "西城区", "朝阳区", "海淀区", "黄浦区", "徐汇区", "南山区", "福田区")
    districts += ("武侯区", "锦江区", "西湖区", "江汉区", "洪山区", "龙岗区", "罗湖区", "宁乡县")
    proposal = classify("district_name", [r.choice(districts) for _ in range(N)])
    assert proposal.pii_type == "none"
    assert proposal.quasi_identifier is True
    assert proposal.level is Level.L1


def test_region_values_without_a_street_are_not_addresses() -> None:
    r = _rng(29)
    regions = ("广东省深圳市南山区", "浙江省杭州市西湖区", "北京市海淀区", "四川省成都市武侯区")
    regions += ("湖南省长沙市宁乡县", "上海市浦东新区", "内蒙古自治区呼和浩特市新城区")
    values = [r.choice(regions) for _ in range(N)]
    assert classify("col_a", values).pii_type == "none"
    assert classify("所在城市", values).pii_type == "none"


def test_place_names_that_start_with_a_surname_are_not_names() -> None:
    r = _rng(30)
    places = ("黄浦区", "徐汇区", "武侯区", "罗湖区", "龙岗区", "金水区", "高新区", "江北区")
    places += ("宁乡县", "石家庄市", "唐山市", "常州", "杨浦区", "邢台市", "沈阳市", "孙家村")
    values = [r.choice(places) for _ in range(N)]
    assert all(split_chinese_name(p) is not None for p in places)  # structurally name-like
    assert classify("col_a", values).pii_type == "none"


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("性别", ["男", "女"]),
        ("gender", ["M", "F"]),
        ("age", ["23", "41", "67"]),
        ("邮编", ["100000", "518000", "310000"]),
        ("birth_year", ["1985", "1990", "2001"]),
        ("民族", ["汉族", "回族", "壮族"]),
    ],
)
def test_quasi_identifier_headers(header: str, values: list[str]) -> None:
    r = _rng(19)
    proposal = classify(header, [r.choice(values) for _ in range(N)])
    assert proposal.pii_type == "none"
    assert proposal.quasi_identifier is True


@pytest.mark.parametrize("header", ["company_name", "file_name", "username", "userName"])
def test_name_tokens_that_do_not_mean_a_person(header: str) -> None:
    r = _rng(20)
    values = [f"item_{r.randrange(10**6)}.dat" for _ in range(N)]
    assert header_hints(header).types == ()
    assert classify(header, values).pii_type == "none"


# Free text -------------------------------------------------------------------------------


def test_free_text_without_pii_is_none() -> None:
    values = make_free_text(_rng(21))
    assert classify("col_a", values).pii_type == "none"
    remark = classify("备注", values)
    assert remark.pii_type == "none"
    assert remark.level is Level.L2  # text is internal data, but needs no masking rule


def test_free_text_embedding_an_id_is_free_text_l4() -> None:
    r = _rng(22)
    values: list[str | None] = list(make_free_text(r))
    ids = make_ids(r, 3)
    for i, id_no in zip((17, 90, 201), ids, strict=True):
        values[i] = f"客户身份证号{id_no}，要求补办。"
    proposal = classify("remark", values)
    assert proposal.pii_type == "free_text"
    assert proposal.level is Level.L4
    assert "3/240" in proposal.evidence
    assert "id_card" in proposal.evidence
    assert classify("col_a", values).pii_type == "free_text"


def test_one_row_with_a_mobile_makes_free_text_l3() -> None:
    r = _rng(23)
    values: list[str | None] = list(make_free_text(r))
    values[5] = f"请回电{make_mobiles(r, 1)[0]}确认地址。"
    proposal = classify("说明", values)
    assert proposal.pii_type == "free_text"
    assert proposal.level is Level.L3


def test_a_labelled_name_in_remarks_counts() -> None:
    r = _rng(24)
    values: list[str | None] = list(make_free_text(r))
    values[7] = "联系人：欧阳娜娜，下午到访。"
    proposal = classify("备注", values)
    assert proposal.pii_type == "free_text"
    assert "name" in proposal.evidence


# Header only -----------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "pii_type"), [("手机号", "mobile"), ("id_number", "id_card")])
def test_all_null_values_with_a_hint_give_the_hinted_type_with_low_confidence(
    header: str, pii_type: str
) -> None:
    proposal = classify(header, [None, "", "null"] * 80)
    assert proposal.pii_type == pii_type
    assert proposal.confidence < 0.5
    assert "header only" in proposal.evidence


def test_a_hint_contradicted_by_values_is_kept_cautiously() -> None:
    r = _rng(25)
    values = [f"ref-{r.randrange(10**6)}" for _ in range(N)]
    proposal = classify("身份证号", values)
    assert proposal.pii_type == "id_card"
    assert proposal.level is Level.L4
    assert proposal.confidence < 0.5
    assert "header only" in proposal.evidence
    assert classify("col_a", values).pii_type == "none"


def test_values_override_a_contradicting_header() -> None:
    proposal = classify("手机号", make_emails(_rng(26)))
    assert proposal.pii_type == "email"


def test_the_head_noun_decides_between_hints() -> None:
    assert header_hints("联系人电话").primary == "mobile"
    assert header_hints("身份证地址").primary == "address"
    assert header_hints("district_name").types == ()
    assert header_hints("district_name").quasi is True
    assert header_hints("account_balance").types == ()
    assert header_hints("出生地").types == ()
    assert header_hints("IDCardNo").types == ("id_card",)
    assert classify("联系人电话", [None] * 10).pii_type == "mobile"


# Evidence and module API -----------------------------------------------------------------


def test_evidence_never_quotes_values_even_short_names() -> None:
    r = _rng(27)
    values = [r.choice(("张三", "李四", "王五", "赵六", "欧阳娜娜")) for _ in range(N)]
    proposal = classify("姓名", values)
    assert proposal.pii_type == "name"
    for name in set(values):
        assert name not in proposal.evidence
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in proposal.evidence)


def test_surname_tables() -> None:
    assert len(SURNAMES) >= 280
    assert all(len(s) == 1 for s in SURNAMES)
    assert set(TEST_SURNAMES) <= SURNAMES
    required = "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 "
    required += "独孤 南宫 西门 百里 呼延 澹台 太史 申屠 闻人 万俟 钟离 赫连 濮阳 公羊 第五"
    assert set(required.split()) <= COMPOUND_SURNAMES
    assert all(len(s) == 2 for s in COMPOUND_SURNAMES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("王小明", ("王", "小明")),
        ("李娜", ("李", "娜")),
        ("欧阳娜娜", ("欧阳", "娜娜")),
        ("诸葛亮", ("诸葛", "亮")),
        (" 司马光 ", ("司马", "光")),
        ("欧阳", ("欧", "阳")),  # too short for a compound surname plus a given name
        ("张", None),
        ("张三丰丰丰", None),
        ("Zhang San", None),
        ("天天向上", None),
    ],
)
def test_split_chinese_name(text: str, expected: tuple[str, str] | None) -> None:
    assert split_chinese_name(text) == expected


def test_detect_value() -> None:
    first17 = "11010519491231002"
    valid_id = first17 + id_check_char(first17)
    wrong_id = first17 + ("1" if id_check_char(first17) != "1" else "2")
    card = "622202123456789" + luhn_check_digit("622202123456789")
    assert detect_value(valid_id) == "id_card"
    assert detect_value(valid_id[:-1] + valid_id[-1].lower()) == "id_card"
    assert detect_value(wrong_id) != "id_card"
    assert detect_value("+86 138-1234-5678") == "mobile"
    assert detect_value("13812345678") == "mobile"
    assert detect_value(card) == "bank_card"
    assert detect_value(card[:-1] + str((int(card[-1]) + 1) % 10)) is None
    assert detect_value("zhang.wei@example.com") == "email"
    assert detect_value("粤B12345") == "plate"
    assert detect_value("王小明") == "name"
    assert detect_value("北京市海淀区中关村大街27号") == "address"
    assert detect_value(f"已核实身份证{valid_id}。") == "free_text"
    assert detect_value("东城区") is None
    assert detect_value("黄浦区") is None
    assert detect_value("北京市海淀区") is None
    assert detect_value("广东省深圳市南山区") is None
    assert detect_value("1985-03-12") is None  # a date is not PII without a birth header
    assert detect_value("   ") is None
