"""Free-text PII: spans, identifier shapes, names, known values, the gate's detector."""

from __future__ import annotations

import pytest

from sandbox.textpii import names, namescore, patterns
from sandbox.textpii.known import KnownValues
from sandbox.textpii.masker import TextMasker
from sandbox.textpii.spans import Span, apply, merge


def test_spans_merge_keeps_the_least_visible_and_apply_keeps_length() -> None:
    merged = merge([Span(0, 5, "a", keep=2), Span(3, 8, "b", keep=0, keep_end=1)])
    assert merged == [Span(0, 8, "a", keep=2, keep_end=1)]
    text = "abcdefghij"
    out = apply(text, [Span(0, 5, "a", keep=2), Span(1, 4, "b", keep=0)])
    assert len(out) == len(text) and out == "a****fghij"
    assert apply("xyz", []) == "xyz"


@pytest.mark.parametrize(
    "written",
    [
        "110105 19850302 123x",
        "1101 0519 8503 0212 3X",
        "11010519850302123x",
        "１１０１０５１９８５０３０２１２３Ｘ",  # full-width digits
    ],
)
def test_resident_ids_in_any_spacing_and_case(written: str) -> None:
    out = TextMasker(("patterns",)).mask(f"证件号{written}。")
    assert out is not None
    digits = [c for c in out if c.isalnum()]
    assert len(digits) <= 10 + 3  # 6 + 4 visible, plus the three label characters
    assert out.count("*") >= 8


@pytest.mark.parametrize(
    "written",
    [
        "13812345678",
        "138-1234-5678",
        "138 1234 5678",
        "+86 13812345678",
        "+86-138-1234-5678",
        "(+86)13812345678",
        "（+86）13812345678",
        "008613812345678",
        "86-13812345678",
    ],
)
def test_mobiles_in_every_written_form(written: str) -> None:
    out = TextMasker(("patterns",)).mask(f"电话{written}，")
    assert out is not None and "1234" not in out and out.endswith("5678，")


def test_a_mobile_is_not_found_inside_a_card_and_dates_are_not_numbers() -> None:
    spans = patterns.identifier_spans("卡号6222 1381 2345 6789 012，于2024-03-15办理")
    kinds = [s.kind for s in spans]
    assert kinds == ["bank_card"]


def test_plates_emails_addresses_and_birth_dates() -> None:
    m = TextMasker(("patterns",))
    assert m.mask("车牌粤B·D12345违停") == "车牌粤B*******违停"
    assert m.mask("邮箱 li.ming@example.com") == "邮箱 l" + "*" * 18
    assert m.mask("住杭州市西湖区文三路90号3幢201室") == "住杭州市西湖区" + "*" * 12
    assert m.mask("出生日期：1987年6月2日") == "出生日期：1987" + "*" * 5
    assert m.mask("85年3月12日生") == "85" + "*" * 6 + "生"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("患者刘德明因胸闷入院", "刘德明"),
        ("其女儿（刘晓雯）陪同", "刘晓雯"),
        ("联系人：孙悦，电话未留", "孙悦"),
        ("经办人司马青云已受理", "司马青云"),
        ("邻居潘一鸣称楼上漏水", "潘一鸣"),
        ("张建国、李秀英和王芳三人到场", "王芳"),
        ("阿依古丽·买买提于今日报到", "阿依古丽·买买提"),
        # The grammar around a name, where no relation or role word stands beside it.
        ("老人被吴长贵推倒在地", "吴长贵"),  # a surname jieba joins to no word
        ("配合调查的目击者胡国峰说", "胡国峰"),  # a dictionary word ending in a role suffix
        ("甲方为邱美华，乙方为本公司", "邱美华"),  # a party (…方) and a connector
        ("请到外科钱永康处复诊", "钱永康"),  # an institution's end, then "at X's place"
        ("凌淑华：同意按原方案执行", "凌淑华"),  # a speaker's label
        ("材料由徐卫东一并提交", "徐卫东"),  # a preposition before, a word after
        ("护理部主管欧阳立新女士到场", "欧阳立新"),  # a title after the name
        ("龙嘉怡（系申请人之妹）签字", "龙嘉怡"),  # a bracket saying who the person is
        ("5床贺春兰夜间发热", "贺春兰"),  # a hospital bed number
    ],
)
def test_names_in_context_are_masked_keeping_the_surname(text: str, name: str) -> None:
    out = TextMasker(("patterns", "ner", "context")).mask(text)
    assert out is not None and name not in out
    i = text.index(name)
    assert out[i + len(name) - 1] == "*"


@pytest.mark.parametrize(
    "text",
    [
        "本周末高速公路车流量较大，请合理安排出行时间。",
        "黄金周期间景区实行预约入园。",
        "温馨提示：办理业务请携带有效证件原件。",
        "高峰时段增开两个窗口，方案已报街道审批。",
        "已为王某办理，张某某未到场。",  # anonymised forms stay as written
        # Surname characters inside words, next to the contexts the name rules use.
        "请于工作时间向窗口咨询，起付线以下部分由个人承担。",
        "共有十二支队伍参赛，行程单号另行发送。",
        "已责令施工方严格遵守作业时间，雷雨大风天气暂停室外作业。",
        "工单转供电公司，乘客补付车费三十元。",
        "上次那个王主任说下周再来，三张表格已交。",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert TextMasker().mask(text) == text


def test_masking_is_idempotent() -> None:
    m = TextMasker()
    once = m.mask("患者刘德明，电话+86 138 1234 5678，住杭州市西湖区文三路90号")
    assert m.mask(once) == once


def test_known_values_are_found_in_any_spacing_with_one_automaton() -> None:
    known = KnownValues.build(
        {"甯淑妍": "name", "13812345678": "mobile", "王": "name", "x": "email"}
    )
    assert known.size == 2  # a one-character name and a too-short value are not hunted
    spans = known.spans("来电人甯淑妍，手机138 1234 5678。")
    assert [(s.kind, s.keep) for s in spans] == [("name", 1), ("mobile", 3)]
    assert KnownValues().spans("anything") == []


def test_context_needs_a_role_for_everyday_surnames() -> None:
    assert names.context_spans("和平路上车很多") == []
    assert [s.end - s.start for s in names.context_spans("申请人和平安称")] == [3]


def test_the_gates_detector_is_not_the_masker() -> None:
    # A name with no context word at all, found from character likelihoods alone ...
    text = "昨天下午邹晓彤在小区门口摔倒"
    assert [text[f.start : f.end] for f in namescore.find_names(text)] == ["邹晓彤"]
    # ... and masked names, places and words are not reported.
    for clean in ("冼**在小区门口摔倒", "哈尔滨市南岗区", "乌鲁木齐市", "高速公路周末"):
        assert not namescore.has_name(clean), clean
