"""The leak gate: a Great Expectations suite every sample must pass before it is published.

The suite, run on Spark:

- ``expect_column_values_to_not_contain_unmasked_identifiers`` (custom) on every text
  column: no cell holds, whole or embedded, a resident ID with a valid GB 11643 check
  digit, a Luhn-valid card number or a mobile number;
- ``expect_column_values_to_be_free_of_raw_source_values`` (custom) on a per-row count of
  cells, tokens and Han n-grams equal to a raw value of a sensitive source column (the
  join is computed in Spark by ``sandbox.leaks``; see there);
- ``expect_column_values_to_match_regex`` (built-in, Java regex on Spark) on every masked
  column whose rule promises a format.

Results use a value-free result format (counts only): GE's default would copy up to 20
unexpected cell values into the result, turning the report into the leak. The suite and
its result are stored with the build (``SampleBuild.gate_result`` and
``<sample>/_trustlab/gate.json``); leak details name columns and show examples *masked*.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.errors import InvalidSource
from sandbox import leaks as leak_finder
from sandbox.masking import MaskingRule
from sandbox.textpii import namescore

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

RAW_COUNT = "_tl_raw_source_values"
ROW_ID = "_tl_row"
SAFE_RESULT_FORMAT = {
    "result_format": "BASIC",
    "partial_unexpected_count": 0,
    "exclude_unexpected_values": True,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
_VALUE_KEYS = {
    "partial_unexpected_list",
    "unexpected_list",
    "partial_unexpected_counts",
    "unexpected_rows",
    "partial_unexpected_index_list",
    "unexpected_index_list",
    "unexpected_index_query",
    "details",
}


@dataclass
class GateReport:
    passed: bool
    checks: list[dict[str, Any]]  # expectation, column, success, unexpected, elements
    leaks: list[leak_finder.Leak]
    suite: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        failed = [c for c in self.checks if not c["success"]]
        if not failed:
            return f"{len(self.checks)} expectations met"
        names = sorted({f"{c['expectation']}({c['column']})" for c in failed})
        return f"{len(failed)} of {len(self.checks)} expectations failed: {', '.join(names)}"

    def summary_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "expectations": len(self.checks),
            "failed": [
                {"expectation": c["expectation"], "column": c["column"], "count": c["unexpected"]}
                for c in self.checks
                if not c["success"]
            ],
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": self.summary(),
            "checks": self.checks,
            "leaks": [leak.to_json() for leak in self.leaks],
            "suite": self.suite,
            "validation_result": self.result,
        }


# --- custom expectations (registered with GE when this module is imported) ----------------


def _ge() -> Any:
    import great_expectations as gx

    return gx


def _define_expectations() -> tuple[Any, Any, Any]:
    from great_expectations.execution_engine import PandasExecutionEngine, SparkDFExecutionEngine
    from great_expectations.expectations.expectation import ColumnMapExpectation
    from great_expectations.expectations.metrics import (
        ColumnMapMetricProvider,
        column_condition_partial,
    )
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from sandbox.spark import vectorized

    # Python workers import sandbox.leaks themselves (the function is pickled by reference).
    has_id = leak_finder.has_identifier
    has_identifier = vectorized(has_id, T.BooleanType())

    class ColumnValuesNoUnmaskedIdentifiers(ColumnMapMetricProvider):
        condition_metric_name = "column_values.trustlab_no_unmasked_identifiers"

        @column_condition_partial(engine=SparkDFExecutionEngine)
        def _spark(cls, column: Any, **kwargs: Any) -> Any:
            text = column.cast("string")
            candidate = F.coalesce(text.rlike(leak_finder.DIGIT_RUN), F.lit(False))
            # Spark calls a Python UDF for every row whatever the condition around it, so
            # only candidate cells are passed in; the rest cross the Arrow boundary as nulls.
            found = F.coalesce(has_identifier(F.when(candidate, text)), F.lit(False))
            return ~(candidate & found)

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column: Any, **kwargs: Any) -> Any:
            return ~column.map(lambda v: v is not None and v == v and has_id(str(v)))

    has_name = vectorized(namescore.has_name, T.BooleanType())

    class ColumnValuesNoPersonNames(ColumnMapMetricProvider):
        condition_metric_name = "column_values.trustlab_no_person_names"

        @column_condition_partial(engine=SparkDFExecutionEngine)
        def _spark(cls, column: Any, **kwargs: Any) -> Any:
            return ~F.coalesce(has_name(column.cast("string")), F.lit(False))

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column: Any, **kwargs: Any) -> Any:
            return ~column.map(lambda v: v is not None and v == v and namescore.has_name(str(v)))

    class ExpectColumnValuesToNotContainPersonNames(ColumnMapExpectation):
        """No text value holds a person's name (the gate's own detector, not the masker's)."""

        map_metric = "column_values.trustlab_no_person_names"
        success_keys = ("mostly",)

    class ColumnValuesZero(ColumnMapMetricProvider):
        condition_metric_name = "column_values.trustlab_zero"

        @column_condition_partial(engine=SparkDFExecutionEngine)
        def _spark(cls, column: Any, **kwargs: Any) -> Any:
            return column == F.lit(0)

    class ExpectColumnValuesToNotContainUnmaskedIdentifiers(ColumnMapExpectation):
        """No value holds an ID (GB 11643), card (Luhn) or mobile number in unmasked form."""

        map_metric = "column_values.trustlab_no_unmasked_identifiers"
        success_keys = ("mostly",)

    class ExpectColumnValuesToBeFreeOfRawSourceValues(ColumnMapExpectation):
        """Every row's count of raw sensitive source values (computed by the gate) is zero."""

        map_metric = "column_values.trustlab_zero"
        success_keys = ("mostly",)

    return (
        ExpectColumnValuesToNotContainUnmaskedIdentifiers,
        ExpectColumnValuesToBeFreeOfRawSourceValues,
        ExpectColumnValuesToNotContainPersonNames,
    )


_EXPECTATIONS: tuple[Any, Any, Any] | None = None


def expectations() -> tuple[Any, Any, Any]:
    global _EXPECTATIONS
    if _EXPECTATIONS is None:
        _EXPECTATIONS = _define_expectations()
    return _EXPECTATIONS


def build_suite(
    frame: Any, rules: dict[str, MaskingRule], synthetic: dict[str, str] | None = None
) -> Any:
    """The gate's suite. ``synthetic`` (column -> PII type) marks a generated sample: its
    names and mobiles are fake by construction and look real, so those two checks give way
    to the raw-value join over every sensitive column; IDs and cards must still not
    validate (generated ones carry a wrong check digit)."""
    gx = _ge()
    no_identifiers, no_raw, no_names = expectations()
    suite = gx.ExpectationSuite(name="trustlab_leak_gate")
    for column in leak_finder.string_columns(frame):
        if column not in (ROW_ID,) and (synthetic or {}).get(column) != "mobile":
            suite.add_expectation(no_identifiers(column=column))
    if synthetic is None:
        for column in leak_finder.name_columns(frame, rules):
            suite.add_expectation(no_names(column=column))
    suite.add_expectation(no_raw(column=RAW_COUNT))
    for column, rule in rules.items():
        if synthetic is not None:
            break
        if column in frame.columns and rule.output_regex and rule.name not in ("keep", "drop"):
            suite.add_expectation(
                gx.expectations.ExpectColumnValuesToMatchRegex(
                    column=column, regex=rule.output_regex
                )
            )
    return suite


def _scrub(result: dict[str, Any]) -> dict[str, Any]:
    """Drop anything value-bearing (also exception messages, which can quote cells)."""
    for r in result.get("results", []):
        for key in _VALUE_KEYS & set(r.get("result", {})):
            del r["result"][key]
        info = r.get("exception_info") or {}
        raised = info.get("raised_exception") or any(
            isinstance(v, dict) and v.get("raised_exception") for v in info.values()
        )
        if raised:
            r["exception_info"] = {"raised_exception": True, "exception_message": "(scrubbed)"}
    return result


def run_gate(
    spark: Any,
    sample: Any,
    source: Any,
    info: dict[str, Any],
    rules: dict[str, MaskingRule],
    algorithm: str,
    synthetic: bool = False,
) -> GateReport:
    """Validate ``sample`` against ``source``; never raises on a leak, reports it."""
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from pyspark.sql import functions as F

    gx = _ge()
    indexed = sample.withColumn(ROW_ID, F.monotonically_increasing_id()).cache()
    hits = leak_finder.raw_hits(indexed, ROW_ID, source, info, rules)
    if hits is not None:
        hits = hits.cache()
        per_row = hits.groupBy(ROW_ID).agg(F.count(F.lit(1)).alias(RAW_COUNT))
        frame = indexed.join(per_row, ROW_ID, "left").fillna(0, subset=[RAW_COUNT])
    else:
        frame = indexed.withColumn(RAW_COUNT, F.lit(0))
    frame = frame.drop(ROW_ID)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    datasource = context.data_sources.add_spark(name="trustlab", persist=False)
    batch = datasource.add_dataframe_asset(name="sample").add_batch_definition_whole_dataframe(
        "all"
    )
    kinds = {c["name"]: c["pii"] for c in info["columns"]} if synthetic else None
    suite = context.suites.add(build_suite(frame, rules, kinds))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="leak_gate", data=batch, suite=suite)
    )
    result = validation.run(batch_parameters={"dataframe": frame}, result_format=SAFE_RESULT_FORMAT)
    result_json = _scrub(result.to_json_dict())
    checks = [
        {
            "expectation": r["expectation_config"]["type"],
            "column": r["expectation_config"]["kwargs"].get("column"),
            "success": bool(r["success"]),
            "unexpected": r["result"].get("unexpected_count"),
            "elements": r["result"].get("element_count"),
        }
        for r in result_json["results"]
    ]
    found: list[leak_finder.Leak] = []
    failed = {(c["expectation"], c["column"]) for c in checks if not c["success"]}
    if any(e.endswith("unmasked_identifiers") for e, _ in failed):
        found += [
            leak
            for leak in leak_finder.unmasked_identifiers(sample)
            if not (kinds and kinds.get(leak.column) == "mobile")
        ]
    if any(e.endswith("person_names") for e, _ in failed):
        found += leak_finder.unmasked_names(sample, rules)
    if hits is not None and any(e.endswith("raw_source_values") for e, _ in failed):
        found += leak_finder.summarize_hits(hits, rules)
    for expectation, column in sorted(failed, key=lambda x: (x[0], str(x[1]))):
        if expectation == "expect_column_values_to_match_regex":
            count = next(c["unexpected"] for c in checks if c["column"] == column)
            found.append(leak_finder.Leak("format", column, rules[column].label, count or 0, []))
    indexed.unpersist()
    if hits is not None:
        hits.unpersist()
    passed = bool(result_json["success"]) and not found
    return GateReport(passed, checks, found, suite.to_json_dict(), result_json)


def read_any(spark: Any, path: Path) -> Any:
    """A Parquet file/folder or a CSV file (with header) as a Spark DataFrame."""
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return spark.read.parquet(str(path))
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        from hub.sources import CsvSource

        source = CsvSource(path)
        return (
            spark.read.option("header", True)
            .option("encoding", source.encoding.replace("-sig", ""))
            .option("sep", source.delimiter)
            .option("quote", '"')
            .option("escape", '"')
            .csv(str(path))
        )
    raise InvalidSource(f"cannot read {path}: give a Parquet file or folder, or a CSV file")


def check_path(
    platform: Any, path: Path, dataset: str, step: Callable[[str], None] = lambda _: None
) -> GateReport:
    """Run the leak gate on any Parquet/CSV ``path`` as if it were a sample of ``dataset``."""
    from hub.catalog import Catalog
    from sandbox.policy import Policies, check_rules, default_rules, masking_context
    from sandbox.spark import read_dataset, spark_session

    catalog = Catalog(platform)
    info = catalog.show(dataset)
    current = Policies(platform).current(dataset)
    rules_spec = current.rules if current else default_rules(info)
    rules = check_rules(
        info, rules_spec, masking_context(platform), platform.settings.masking_floor
    )
    spark = spark_session(platform.settings)
    step("reading the source and the sample")
    source = read_dataset(spark, info, catalog.registration(dataset), platform.settings)
    sample = read_any(spark, path)
    step("running the leak gate")
    present = {c: r for c, r in rules.items() if c in sample.columns}
    return run_gate(spark, sample, source, info, present, platform.settings.hash_algorithm)
