"""The masking floor, default deny by level, and PIPL sensitive categories."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from hub.classification import ColumnProfile, Level
from sandbox.masking import KeepEnds, MaskingContext, PolicyError
from sandbox.pii import PiiClassifier
from sandbox.policy import check_rules
from sandbox.sensitive import sensitive_category

CTX = MaskingContext(b"unit-test-secret")
FLOOR = {"id_card": {"head": 6, "tail": 4}, "mobile": {"head": 3, "tail": 4}}


def info(*columns: tuple[str, str, int]) -> dict[str, Any]:
    return {
        "name": "t",
        "columns": [
            {"name": n, "pii": p, "level": f"L{lvl}", "type": "string"} for n, p, lvl in columns
        ],
    }


def test_an_l2_column_without_a_rule_or_with_keep_unjustified_is_refused() -> None:
    table = info(("diagnosis", "none", 3), ("note", "none", 1))
    with pytest.raises(PolicyError, match=r"'diagnosis' is classified as L3 but .* no rule"):
        check_rules(table, {}, CTX, FLOOR)
    with pytest.raises(PolicyError, match="needs a justification"):
        check_rules(table, {"diagnosis": {"rule": "keep", "params": {}}}, CTX, FLOOR)
    with pytest.raises(PolicyError, match="needs a justification"):
        check_rules(
            table, {"diagnosis": {"rule": "keep", "params": {}, "justification": "ok"}}, CTX, FLOOR
        )
    justified = {"rule": "keep", "params": {}, "justification": "the model is trained on it"}
    assert check_rules(table, {"diagnosis": justified}, CTX, FLOOR)["note"].name == "keep"
    assert check_rules(table, {"diagnosis": {"rule": "redact"}}, CTX, FLOOR)


def test_a_pii_column_is_never_kept_even_justified() -> None:
    table = info(("id", "id_card", 4))
    spec = {"rule": "keep", "params": {}, "justification": "the developers really want it"}
    with pytest.raises(PolicyError, match="would copy it unmasked"):
        check_rules(table, {"id": spec}, CTX, FLOOR)


class KeepTooMuch(KeepEnds):
    name = "keep8_4"
    note = "test rule"
    head: ClassVar[int] = 8
    tail: ClassVar[int] = 4


class Undeclared(KeepEnds):
    name = "undeclared"
    note = "test rule"
    head: ClassVar[int] = 1
    tail: ClassVar[int] = 1

    def reveals(self) -> None:  # type: ignore[override]
        return None


def test_the_floor_refuses_a_rule_revealing_more(monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox import masking

    registry = masking.registry()
    monkeypatch.setattr(
        masking, "registry", lambda: {**registry, "keep8_4": KeepTooMuch, "undeclared": Undeclared}
    )
    table = info(("id", "id_card", 4), ("mobile", "mobile", 3))
    with pytest.raises(PolicyError, match=r"leaves 8\+4 .* at most 6\+4"):
        check_rules(table, {"id": {"rule": "keep8_4"}, "mobile": {"rule": "mobile_keep3_4"}},
                    CTX, FLOOR)  # fmt: skip
    with pytest.raises(PolicyError, match="does not declare what it reveals"):
        check_rules(table, {"id": {"rule": "undeclared"}, "mobile": {"rule": "mobile_keep3_4"}},
                    CTX, FLOOR)  # fmt: skip
    # A stricter platform floor refuses the built-in 6+4 too.
    strict = {**FLOOR, "id_card": {"head": 3, "tail": 0}}
    with pytest.raises(PolicyError, match=r"at most 3\+0"):
        check_rules(table, {"id": {"rule": "id_keep6_4"}, "mobile": {"rule": "mobile_keep3_4"}},
                    CTX, strict)  # fmt: skip
    ok = check_rules(table, {"id": {"rule": "id_keep6_4"}, "mobile": {"rule": "mobile_keep3_4"}},
                     CTX, FLOOR)  # fmt: skip
    assert set(ok) == {"id", "mobile"}


def test_free_text_keeps_its_name_finding() -> None:
    table = info(("remark", "free_text", 3))
    off = {"remark": {"rule": "free_text_redact", "params": {"names": False}}}
    with pytest.raises(PolicyError, match="names=false would leave every person"):
        check_rules(table, off, CTX, FLOOR)
    assert check_rules(table, {"remark": {"rule": "free_text_redact"}}, CTX, FLOOR)


def test_an_incomplete_policy_may_be_written_but_not_built() -> None:
    table = info(("diagnosis", "none", 3), ("id", "id_card", 4))
    partial = {"id": {"rule": "id_keep6_4"}}
    assert set(check_rules(table, partial, CTX, FLOOR, complete=False)) == {"id"}
    with pytest.raises(PolicyError, match="no rule"):
        check_rules(table, partial, CTX, FLOOR)


@pytest.mark.parametrize(
    ("header", "values", "category"),
    [
        ("诊断", ["2型糖尿病", "高血压3级", "支气管哮喘", "抑郁发作"], "health"),
        ("dx_code", ["E11.9", "I10", "J45.0", "F32.1"], "health"),
        ("信仰", ["无", "佛教", "基督教", "伊斯兰教", "道教"], "religion"),
        ("gps", ["120.155150,30.274150", "121.473701,31.230416", "113.264385,23.129112"],
         "location"),
        ("标签", ["低保户", "残疾人", "独居老人", "退役军人"], "identity"),
        ("monthly_income", ["1200", "8800"], "financial"),
        ("留守儿童", ["是", "否"], "minors"),
        ("指纹模板", ["AAEC", "AAFF"], "biometrics"),
    ],
)  # fmt: skip
def test_pipl_categories_from_values_and_headers(
    header: str, values: list[str], category: str
) -> None:
    found = sensitive_category(header, values)
    assert found is not None and found[0] == category
    assert all(v not in found[1] for v in values if len(v) > 1)  # evidence quotes no value
    proposal = PiiClassifier().propose(ColumnProfile(header, "string", values))
    assert proposal.pii_type == "none" and proposal.level >= Level.L3


def test_ordinary_columns_are_not_sensitive() -> None:
    assert sensitive_category("district", ["朝阳区", "海淀区", "西湖区"]) is None
    assert sensitive_category("status", ["已办结", "处理中", "已受理"]) is None
    assert sensitive_category("plateau", ["a", "b"]) is None  # "lat" must start a token
