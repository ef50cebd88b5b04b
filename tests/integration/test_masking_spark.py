"""Every rule's Spark expression gives exactly its Python reference's output, on real Spark."""

from __future__ import annotations

import csv
import random
from datetime import date

import pytest

from sandbox.demo import generate_people
from sandbox.masking import BUILTIN_RULES, MaskingContext, make_rule

CTX = MaskingContext(secret=b"spark-equivalence-secret-0123456")
EDGE = [
    None, "", " ", "*", "0", "12", "+86", "****", "a@b", "@x.cn", "张", "欧阳", "司马光",
    "John  Smith", "A张三", "13812345678", "+86 (138) 1234-5678", "0086-138 1234 5678",
    "6222.0212.3456.7890.128", "11010519491231002x", "110105********002X", "138****5678",
    "京A·12345", "粤BD12345", "新疆维吾尔自治区乌鲁木齐市天山区解放路1号", "广东省东莞市长安镇振安路3号",
    "tk_abcdefghijklmnopabcdefghijklmnop", "line\nbreak 13812345678", "z***@qq.com",
    "\t13812345678\n", "\u3000张三\u3000", "粤B\tD1234", " a@b.cn ", "8613812345678", "86123",
]  # fmt: skip


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    path = tmp_path_factory.mktemp("people") / "people.csv"
    generate_people(path, rows=400, seed=5)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {col: [r[col] for r in rows] for col in rows[0]}


def text_values(people: dict[str, list[str]]) -> list[str | None]:
    rng = random.Random(9)
    garbage = ["".join(rng.choice("0123456789 -.()*@xX张省市区号") for _ in range(rng.randint(0, 25)))
               for _ in range(60)]  # fmt: skip
    real = [v for col in ("id_number", "mobile", "bank_card", "name", "address", "email", "plate",
                          "remark") for v in people[col][:60]]  # fmt: skip
    return [*EDGE, *garbage, *real]


def compare(spark, rule, values, spark_type: str) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], f"i long, v {spark_type}")
    got = {
        r["i"]: r["m"]
        for r in df.select(
            "i", rule.spark(F.col("v"), df.schema["v"].dataType).alias("m")
        ).collect()
    }
    mismatches = [
        (values[i], rule.python(values[i]), got[i])
        for i in range(len(values))
        if rule.python(values[i]) != got[i]
    ]
    assert mismatches == [], mismatches[:5]


TEXT_RULES = [
    "id_keep6_4", "mobile_keep3_4", "card_keep6_4", "plate_keep_prefix", "email_keep_first",
    "name_keep_surname", "address_keep_region", "pseudonym", "free_text_redact", "redact", "keep",
]  # fmt: skip


@pytest.mark.parametrize("name", TEXT_RULES)
def test_text_rules_match_python(spark, people, name: str) -> None:  # type: ignore[no-untyped-def]
    compare(spark, make_rule(name, {}, CTX), text_values(people), "string")


def test_sm3_pseudonym_matches_python(spark, people) -> None:  # type: ignore[no-untyped-def]
    compare(
        spark, make_rule("pseudonym", {"algorithm": "sm3"}, CTX), people["mobile"][:50], "string"
    )


@pytest.mark.parametrize(
    ("name", "params"),
    [("date_generalize", {"to": "year"}), ("date_generalize", {"to": "month"}),
     ("date_shift", {"max_days": 45})],
)  # fmt: skip
def test_date_rules_match_python(spark, people, name: str, params: dict) -> None:  # type: ignore[no-untyped-def]
    rule = make_rule(name, params, CTX)
    texts = [*people["birth_date"][:80], "1985/3/12", "19850312", "1985年3月12日", "bad", None]
    compare(spark, rule, texts, "string")
    dates = [date.fromisoformat(v) for v in people["birth_date"][:80]] + [None]
    compare(spark, rule, dates, "date")


@pytest.mark.parametrize(
    ("name", "params"),
    [("numeric_round", {"digits": -3}), ("numeric_round", {"digits": 1}),
     ("numeric_bucket", {"width": 10000}), ("numeric_noise", {"ratio": 0.2})],
)  # fmt: skip
def test_numeric_rules_match_python(spark, people, name: str, params: dict) -> None:  # type: ignore[no-untyped-def]
    rule = make_rule(name, params, CTX)
    ints = [int(v) for v in people["income"][:100]] + [0, -12_345, None]
    compare(spark, rule, ints, "long")
    if name != "numeric_noise":  # float noise differs in the last bits between JVM and CPython
        floats = [int(v) / 7 for v in people["income"][:100]] + [None]
        compare(spark, rule, floats, "double")


def test_all_rules_are_exercised() -> None:
    covered = {*TEXT_RULES, "date_generalize", "date_shift", "numeric_round", "numeric_bucket",
               "numeric_noise", "drop"}  # fmt: skip
    assert {r.name for r in BUILTIN_RULES} == covered
