"""The Spark session trustlab jobs use: local mode by default, a cluster by settings."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

from hub.settings import Settings

_SESSION: Any = None


def stop_spark() -> None:
    """Stop this process's session (the next ``spark_session`` starts a new one)."""
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


def spark_session(settings: Settings) -> Any:
    """One SparkSession per process, configured from settings (quiet, UTC, no UI)."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    # A container or host without DNS for its own name makes the JVM gateway fail to start.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (vectorized UDFs) must run this interpreter, with these packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    # Spark's launch scripts put SPARK_CONF_DIR on the driver's classpath: our log4j2
    # configuration there keeps the JVM to errors only.
    os.environ.setdefault("SPARK_CONF_DIR", str(Path(__file__).with_name("spark_conf")))
    builder = (
        SparkSession.builder.appName("trustlab")
        .master(settings.spark_master)
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.parquet.compression.codec", "zstd")
    )
    for key, value in settings.spark_conf.items():
        builder = builder.config(key, value)
    _SESSION = builder.getOrCreate()
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


SPARK_TYPES = {
    "string": "string",
    "integer": "long",
    "decimal": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def read_dataset(spark: Any, info: dict[str, Any], registration: Any, settings: Settings) -> Any:
    """The registered source as a Spark DataFrame with the catalog's column names and types.

    CSV cells are read as text and converted with ``try_cast`` (a malformed cell becomes
    null rather than failing the job); SQL tables are first staged to Parquet in a scratch
    folder (a JDBC driver is the production path: see docs/scaling.md).
    """
    from pyspark.sql import functions as F

    fmt = info["source"]["format"]
    columns = [(c["name"], c["type"]) for c in info["columns"]]
    if fmt == "csv":
        options = info["source"].get("options", {})
        schema = ", ".join(f"`{name}` string" for name, _ in columns)
        df = (
            spark.read.option("header", True)
            .option("encoding", options.get("encoding", "utf-8").replace("-sig", ""))
            .option("sep", options.get("delimiter", ","))
            .option("quote", '"')
            .option("escape", '"')
            .option("mode", "FAILFAST")
            .schema(schema)
            .csv(registration.location)
        )
        if options.get("encoding") == "utf-8-sig":
            first = columns[0][0]
            df = df.withColumn(first, F.regexp_replace(F.col(f"`{first}`"), "^\ufeff", ""))
        return df.select(
            *[
                F.col(f"`{name}`").try_cast(SPARK_TYPES.get(kind, "string")).alias(name)
                if kind != "string"
                else F.col(f"`{name}`")
                for name, kind in columns
            ]
        )
    if fmt == "parquet":
        return spark.read.parquet(registration.location)
    if fmt == "sql":
        return spark.read.parquet(str(stage_sql(registration, columns, settings)))
    raise ValueError(f"cannot read format {fmt!r}")


def stage_sql(registration: Any, columns: list[tuple[str, str]], settings: Settings) -> Path:
    """Copy a SQL table to Parquet (streamed in batches) under the lake's scratch area."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sqlalchemy import select

    from hub.sources import SqlSource

    arrow = {
        "integer": pa.int64(),
        "decimal": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
    }
    schema = pa.schema([(name, arrow.get(kind, pa.string())) for name, kind in columns])
    source = SqlSource(registration.location, registration.table)
    target = Path(settings.zone("samples")) / ".staging" / f"sql-{uuid.uuid4().hex}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.engine.connect() as conn, pq.ParquetWriter(target, schema) as writer:
        result = conn.execution_options(stream_results=True, yield_per=50_000).execute(
            select(source.table)
        )
        for chunk in result.partitions():
            arrays = [
                pa.array([_cell(row[i], field.type) for row in chunk], field.type)
                for i, field in enumerate(schema)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return target


def _cell(value: Any, kind: Any) -> Any:
    from decimal import Decimal

    import pyarrow as pa

    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if pa.types.is_string(kind) and not isinstance(value, str):
        return str(value)
    return value


def vectorized(fn: Any, return_type: Any) -> Any:
    """A pandas (Arrow-batched) UDF applying ``fn`` to each non-null value of a batch.

    Built here, with real annotations, because modules using postponed annotations hide the
    ``pd.Series`` hints pandas_udf reads to pick its evaluation type.
    """
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    def apply(values: pd.Series) -> pd.Series:
        return values.map(lambda v: None if v is None or v != v else fn(v))

    apply.__annotations__ = {"values": pd.Series, "return": pd.Series}
    return pandas_udf(apply, return_type)  # type: ignore[call-overload]
