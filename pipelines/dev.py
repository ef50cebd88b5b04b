"""Run a pipeline on samples, from a notebook or the CLI.

from pipelines import dev
outputs = dev.run("pipelines/district_income")     # {"district_income": DataFrame}
outputs["district_income"].show()
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pipelines.runner import RunResult, run_pipeline, sample_reader


def run_dev(
    folder: str | Path, out: str | Path | None = None, spark: Any = None, platform: Any = None
) -> RunResult:
    if spark is None:
        from hub.settings import get_settings
        from sandbox.spark import spark_session

        spark = spark_session(get_settings())
    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="trustlab-dev-run-"))
    return run_pipeline(Path(folder), spark, sample_reader(spark, platform), out_dir)


def run(folder: str | Path, out: str | Path | None = None, spark: Any = None) -> dict[str, Any]:
    """Run on the latest samples; return each output as a DataFrame read back from ``out``."""
    result = run_dev(folder, out, spark)
    session = spark
    if session is None:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
    return {name: session.read.parquet(info["path"]) for name, info in result.outputs.items()}
