"""The manifest's ``[expectations.<output>]`` as a Great Expectations suite, value-free.

columns = ["district", "n"]            exact set of columns
not_null = ["district"]
ranges = { n = [10, 1000000] }         min and max (either may be omitted with "")
min_group_size = { column = "n", min = 10 }
min_rows = 1

Every product is also checked for unmasked PII, whatever the manifest says: no cell may
hold an ID, card or mobile number that validates, and no text cell a person's name (the
leak gate's own detectors). ``no_unmasked_pii = true`` is still accepted; ``false`` is
refused when the manifest is read.
"""

from __future__ import annotations

from typing import Any

# Never copy values into a report: a validation result must not become the leak.
RESULT_FORMAT = {"result_format": "BOOLEAN_ONLY"}


def build_suite(name: str, spec: dict[str, Any], string_columns: list[str]) -> Any:
    import great_expectations as gx

    e = gx.expectations
    suite = gx.ExpectationSuite(name=f"{name}_expectations")
    if "columns" in spec:
        suite.add_expectation(e.ExpectTableColumnsToMatchSet(column_set=list(spec["columns"]),
                                                             exact_match=True))  # fmt: skip
    for column in spec.get("not_null", []):
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=column))
    for column, bounds in spec.get("ranges", {}).items():
        low, high = ([*list(bounds), None, None])[:2]
        suite.add_expectation(
            e.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=None if low in ("", None) else low,
                max_value=None if high in ("", None) else high,
            )
        )
    group = spec.get("min_group_size")
    if group:
        suite.add_expectation(
            e.ExpectColumnMinToBeBetween(column=group["column"], min_value=group["min"])
        )
    if "min_rows" in spec:
        suite.add_expectation(e.ExpectTableRowCountToBeBetween(min_value=int(spec["min_rows"])))
    from sandbox.gate import expectations

    no_identifiers, _, no_names = expectations()
    for column in string_columns:
        suite.add_expectation(no_identifiers(column=column))
        suite.add_expectation(no_names(column=column))
    return suite


def validate(df: Any, output: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec`` on ``df`` (a Spark or a pandas DataFrame): {"success", "checks"}, no values."""
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if isinstance(df, pd.DataFrame):
        strings = [
            c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])
        ]
        source = context.data_sources.add_pandas(name="trustlab")
    else:
        strings = [f.name for f in df.schema if f.dataType.simpleString() == "string"]
        source = context.data_sources.add_spark(name="trustlab", persist=False)
    batch = source.add_dataframe_asset(name=output).add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(build_suite(output, spec, strings))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{output}_validation", data=batch, suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT)
    checks = [
        {
            "expectation": r.expectation_config.type,
            "column": r.expectation_config.kwargs.get("column"),
            "success": bool(r.success),
            "error": bool((r.exception_info or {}).get("raised_exception")),
        }
        for r in result.results
    ]
    return {"success": bool(result.success), "checks": checks}
