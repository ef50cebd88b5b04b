"""Lineage from the plan JSON a dry run exports (real Spark plans), default deny: only
hashes, masking, aggregates over groups and bucketing stop an input column being raw."""

from __future__ import annotations

import json

import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.planlineage import PlanError, lineage, tree

COLUMNS = ["id_number", "name", "mobile", "district", "income"]


@pytest.fixture(scope="module")
def people(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    rows = [
        ("110105199001011234", "张三", "13812345678", "西湖区", 100.0),
        ("110105199202021235", "李四", "13912345678", "滨江区", 200.0),
    ]
    path = str(tmp_path_factory.mktemp("plan-people") / "p")
    schema = "id_number string, name string, mobile string, district string, income double"
    spark.createDataFrame(rows, schema).write.parquet(path)
    return spark.read.parquet(path)


def raw(df, inputs=None) -> dict[str, list]:  # type: ignore[no-untyped-def]
    plan = json.loads(df._jdf.queryExecution().analyzed().toJSON())
    got = lineage(plan, inputs or {"people": COLUMNS})
    assert list(got) == df.columns  # the plan describes exactly the output's columns
    return {c: info["raw_sources"] for c, info in got.items()}


ID = [["people", "id_number"]]


def test_identity_like_and_invertible_operations_stay_raw(people) -> None:  # type: ignore[no-untyped-def]
    out = people.select(
        F.col("id_number").alias("pid"),
        F.upper("id_number").alias("up"),
        F.substring("id_number", 1, 6).alias("region"),
        F.regexp_replace("id_number", "1", "x").alias("replaced"),
        F.concat("id_number", F.lit("-")).alias("joined"),
        F.col("id_number").cast("binary").alias("bytes"),
        F.reverse("id_number").alias("rev"),
        F.when(F.col("income") > 0, F.col("id_number")).alias("cond"),
        F.base64(F.col("id_number").cast("binary")).alias("b64"),
    )
    got = raw(out)
    assert all(ID[0] in sources for sources in got.values()), got
    assert got["cond"] == sorted([*ID, ["people", "income"]])  # a condition flows too


def test_hashes_masking_aggregates_and_buckets_protect(people) -> None:  # type: ignore[no-untyped-def]
    out = (
        people.withColumn("h", F.sha2("id_number", 256))
        .withColumn("m", F.mask("mobile"))
        .withColumn("bucket", F.floor(F.col("income") / 100))
        .groupBy("district", "bucket")
        .agg(F.count("id_number").alias("n"), F.first("h").alias("h"), F.max("m").alias("m"),
             F.avg("income").alias("avg_income"), F.countDistinct("name").alias("names"))
    )  # fmt: skip
    got = raw(out)
    assert got == {"district": [["people", "district"]], "bucket": [], "n": [], "h": [],
                   "m": [], "avg_income": [], "names": []}  # fmt: skip


def test_value_preserving_aggregates_windows_and_udfs_are_raw(people) -> None:  # type: ignore[no-untyped-def]
    length = F.udf(lambda s: s, T.StringType())
    win = Window.partitionBy("district").orderBy("income")
    out = people.groupBy("district").agg(
        F.min("id_number").alias("lo"), F.collect_list("name").alias("names")
    )
    assert raw(out)["lo"] == ID and raw(out)["names"] == [["people", "name"]]
    windowed = people.select(F.lag("id_number").over(win).alias("prev"),
                             F.row_number().over(win).alias("rank"),
                             length("id_number").alias("udf"))  # fmt: skip
    got = raw(windowed)
    assert got["prev"] == ID and got["rank"] == [] and got["udf"] == ID


def test_joins_unions_explode_rollup_and_sql(people, spark) -> None:  # type: ignore[no-untyped-def]
    other = people.select(F.col("district").alias("d2"), F.col("mobile").alias("phone"))
    joined = people.join(other, people.district == other.d2).select("name", "phone")
    assert raw(joined) == {"name": [["people", "name"]], "phone": [["people", "mobile"]]}
    union = people.select(F.lit("x").alias("v")).union(people.select("id_number"))
    assert raw(union)["v"] == ID
    exploded = people.select(F.explode(F.array("id_number", "name")).alias("e"))
    assert raw(exploded)["e"] == sorted([*ID, ["people", "name"]])
    rolled = people.rollup("district").agg(F.count("*").alias("n"))
    assert raw(rolled)["district"] == [["people", "district"]] and raw(rolled)["n"] == []
    people.createOrReplaceTempView("plan_people")
    sql = spark.sql("SELECT upper(name) AS n, sha2(mobile, 256) AS h FROM plan_people")
    assert raw(sql) == {"n": [["people", "name"]], "h": []}


def test_a_renamed_source_is_still_found_by_its_file_columns(people, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "renamed")
    people.write.parquet(path)
    again = people.sparkSession.read.parquet(path).withColumnRenamed("id_number", "harmless")
    assert raw(again)["harmless"] == ID  # the leaf's own columns name the input


def test_a_plan_that_is_not_one_is_refused() -> None:
    for bad in ([], {"class": "x"}, [{"class": "a", "num-children": 2}], [{"no": "class"}]):
        with pytest.raises(PlanError):
            tree(bad)  # type: ignore[arg-type]


def test_self_joins_window_keys_and_justifications(people) -> None:  # type: ignore[no-untyped-def]
    from pipelines.planlineage import pii_findings

    right = people.alias("r").select(F.col("district").alias("rd"), F.col("mobile").alias("m2"))
    pairs = people.join(right, people.district == right.rd).select("name", "m2")
    assert raw(pairs)["m2"] == [["people", "mobile"]]
    ranked = people.withColumn(
        "r", F.rank().over(Window.partitionBy("id_number").orderBy("income"))
    )
    plan = json.loads(ranked.select("r")._jdf.queryExecution().analyzed().toJSON())
    got = lineage(plan, {"people": COLUMNS})
    assert got["r"]["raw_sources"] == [] and ["people", "id_number"] in got["r"]["sources"]
    names = lineage(json.loads(people.select("name")._jdf.queryExecution().analyzed().toJSON()),
                    {"people": COLUMNS})  # fmt: skip
    pii = {"people": {"id_number": "id_card", "name": "name", "mobile": "mobile"}}
    findings = pii_findings("o", names, pii, {"name": "names of public officials are published"})
    assert [(f["severity"], f["justification"]) for f in findings] == [
        ("info", "names of public officials are published")
    ]
    assert [f["severity"] for f in pii_findings("o", names, pii, {})] == ["high"]
