"""Column lineage from Spark's analyzed plan (real Spark), and the PII-reaches-output rule."""

from __future__ import annotations

import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

from pipelines.lineage import input_attributes, lineage, pii_findings

PII = {"people": {"id_number": "id_card", "name": "name", "mobile": "mobile"}}


@pytest.fixture(scope="module")
def people(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    rows = [
        ("110105199001011234", "张三", "13812345678", "西湖区", 100.0),
        ("110105199202021235", "李四", "13912345678", "滨江区", 200.0),
    ]
    path = str(tmp_path_factory.mktemp("people") / "p")
    schema = "id_number string, name string, mobile string, district string, income double"
    spark.createDataFrame(rows, schema).write.parquet(path)
    df = spark.read.parquet(path)  # as ctx.read gives it: a file relation
    return df, input_attributes(df, "people")


def raw(df, sources) -> dict[str, list]:  # type: ignore[no-untyped-def]
    return {c: info["raw_sources"] for c, info in lineage(df, sources).items()}


def test_projection_keeps_raw_columns_and_names_the_path(people) -> None:  # type: ignore[no-untyped-def]
    df, src = people
    out = df.select(F.col("id_number").alias("pid"), F.upper("district").alias("d"), "income")
    got = lineage(out, src)
    assert got["pid"]["raw_sources"] == [["people", "id_number"]]
    assert got["d"]["raw_sources"] == [["people", "district"]] and "Upper" in got["d"]["via"]
    findings = pii_findings("o", got, PII, {})
    assert [(f["column"], f["severity"]) for f in findings] == [("pid", "high")]


def test_hash_mask_and_aggregates_protect(people) -> None:  # type: ignore[no-untyped-def]
    df, src = people
    out = (
        df.withColumn("h", F.sha2("id_number", 256))
        .withColumn("m", F.regexp_replace("mobile", r"(\d{3})\d{4}(\d{4})", "$1****$2"))
        .groupBy("district")
        .agg(F.count("id_number").alias("n"), F.first("h").alias("h"), F.max("m").alias("m"),
             F.avg("income").alias("avg_income"))
    )  # fmt: skip
    got = lineage(out, src)
    assert got["n"]["sources"] == [["people", "id_number"]] and got["n"]["raw_sources"] == []
    assert got["h"]["raw_sources"] == [] and "Sha2" in got["h"]["via"]
    assert got["m"]["raw_sources"] == []
    assert pii_findings("o", got, PII, {}) == []


def test_value_preserving_aggregates_and_group_keys_leak(people) -> None:  # type: ignore[no-untyped-def]
    df, src = people
    by_id = df.groupBy("id_number").agg(F.sum("income").alias("total"))
    assert raw(by_id, src)["id_number"] == [["people", "id_number"]]
    firsts = df.groupBy("district").agg(
        F.first("name").alias("someone"), F.max("mobile").alias("mx")
    )
    got = raw(firsts, src)
    assert got["someone"] == [["people", "name"]] and got["mx"] == [["people", "mobile"]]


def test_joins_unions_windows_and_sql(people, spark) -> None:  # type: ignore[no-untyped-def]
    df, src = people
    other = df.select("district", F.col("mobile").alias("contact"))
    joined = df.select("district", "income").join(other, "district")
    assert raw(joined, src)["contact"] == [["people", "mobile"]]
    union = df.select(F.col("district").alias("x")).unionByName(df.select(F.col("name").alias("x")))
    assert ["people", "name"] in raw(union, src)["x"]
    ranked = df.withColumn("r", F.rank().over(Window.partitionBy("id_number").orderBy("income")))
    got = lineage(ranked.select("r"), src)
    assert got["r"]["raw_sources"] == [] and ["people", "id_number"] in got["r"]["sources"]
    df.createOrReplaceTempView("people_view")
    via_sql = spark.sql("SELECT district, concat(name, '!') AS shout FROM people_view")
    assert raw(via_sql, src)["shout"] == [["people", "name"]]


def test_justified_columns_are_shown_not_blocking(people) -> None:  # type: ignore[no-untyped-def]
    df, src = people
    got = lineage(df.select("name"), src)
    findings = pii_findings("o", got, PII, {"name": "names of public officials are published"})
    assert [(f["severity"], f["justification"]) for f in findings] == [
        ("info", "names of public officials are published")
    ]
