"""The containerised steps of a production run: ``run`` and ``validate`` (see dagfactory).

    python -m pipelines.prodjob run JOB.json        # in the runner image, or via spark-submit
    python -m pipelines.prodjob validate JOB.json   # in a fresh runner container

``run`` re-hashes the code it is about to execute against the approved version (the
runner's own refusal), runs ``run(ctx)`` with local Spark on the real inputs named in the
job, writes each output as Parquet under ``out/outputs/<name>`` and ``out/report.json``.
``validate`` runs the manifest's expectations (Great Expectations, value-free results) on
the staged outputs and writes ``check/validation.json`` with each output's content hash,
so publication can prove it promotes exactly what was validated. Exit status 3 means a
definite failure (refused code, pipeline error, failed expectation): Airflow does not retry.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from pipelines.contract import FAIL

PANDAS_MAX_ROWS = 1_000_000  # outputs up to this size are validated without Spark


def cpu_seconds(in_container: bool = True) -> float:
    """CPU time of everything in this container (its cgroup), else of this process tree."""
    try:
        for line in (
            Path("/sys/fs/cgroup/cpu.stat").read_text().splitlines() if in_container else []
        ):
            key, value = line.split()
            if key == "usage_usec":
                return int(value) / 1e6
    except (OSError, ValueError):
        pass
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def records_read(spark: Any) -> int | None:
    """Records the run's Spark stages read from their sources (Spark's own input metric,
    from the driver's status store: no extra scan). None if Spark does not say."""
    try:
        gateway = spark.sparkContext._gateway
        store = spark.sparkContext._jsc.sc().statusStore()
        no_quantiles = gateway.new_array(gateway.jvm.double, 0)
        stages = store.stageList(None, False, False, no_quantiles, None).iterator()
        total = 0
        while stages.hasNext():
            total += int(stages.next().inputRecords())
        return total
    except Exception:  # an internal API: metering must never fail a run
        return None


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, default=str))
    tmp.replace(path)


def _session(job: dict[str, Any]) -> Any:
    from hub.settings import Settings
    from sandbox.spark import spark_session

    return spark_session(
        Settings(
            home=Path("/tmp/trustlab-home"),
            spark_master=job["master"],
            spark_driver_memory=job.get("driver_memory", "2g"),
        )
    )


def run(job: dict[str, Any]) -> int:
    from hub.catalog import Registration
    from hub.errors import TrustlabError
    from hub.settings import Settings
    from pipelines.manifest import snapshot_files, version_id
    from pipelines.runner import run_pipeline
    from sandbox.builder import normalize_parquet_folder
    from sandbox.spark import read_dataset

    started = time.time()
    out = Path(job["out"])
    report_file = out / "report.json"
    report_file.unlink(missing_ok=True)
    outputs = out / "outputs"
    shutil.rmtree(outputs, ignore_errors=True)  # a retried attempt starts clean

    def usage() -> dict[str, float]:
        cpu = cpu_seconds(job.get("in_container", True))
        return {"cpu_seconds": cpu, "seconds": round(time.time() - started, 3)}

    def fail(message: str) -> int:
        print(f"run: {message}", flush=True)
        _write(report_file, {"ok": False, "error": message, **usage()})
        return FAIL

    code = Path(job["code"])
    found = version_id(snapshot_files(code))
    if found != job["version"]:
        return fail(f"refused: the code hashes to {found[:12]}, not approved {job['version'][:12]}")
    spark = _session(job)
    settings = Settings(home=Path("/tmp/trustlab-home"))

    def reader(name: str) -> tuple[Any, dict[str, Any]]:
        spec = job["inputs"][name]
        df = read_dataset(spark, spec["info"], Registration(location=spec["path"]), settings)
        if spec.get("columns") is not None:  # only what the project's contract allows
            df = df.select(*[f"`{c}`" for c in spec["columns"]])
        return df, {"version": spec["version"], "hash": spec["hash"]}

    try:
        result = run_pipeline(code, spark, reader, outputs, params=job.get("params"))
    except TrustlabError as exc:
        return fail(str(exc))
    written = {}
    for name, info in result.outputs.items():
        normalize_parquet_folder(outputs / name)
        written[name] = {"rows": info["rows"], "columns": info["columns"]}
    rows_read = records_read(spark)
    spark.stop()
    _write(report_file, {"ok": True, "outputs": written, "rows_read": rows_read, **usage()})
    summary = ", ".join(f"{k} ({v['rows']:,} rows)" for k, v in written.items())
    print(f"run: wrote {summary}", flush=True)
    return 0


def validate(job: dict[str, Any]) -> int:
    from hub.sources import ParquetSource
    from pipelines.quality import validate as run_suite

    started = time.time()
    out, check = Path(job["container"]["out"]), Path(job["container"]["check"])
    verdict_file = check / "validation.json"
    verdict_file.unlink(missing_ok=True)
    report = json.loads((out / "report.json").read_text())
    if not report.get("ok"):
        print("validate: the run reported no output", flush=True)
        return FAIL
    # Small outputs are checked with pandas (no JVM to start); large ones with Spark.
    small = all(o["rows"] <= PANDAS_MAX_ROWS for o in report["outputs"].values())
    spark = None if small else _session(job)
    verdict: dict[str, Any] = {"success": True, "problems": [], "outputs": {}}
    for name in job["outputs"]:
        folder = out / "outputs" / name
        if name not in report["outputs"] or not folder.exists():
            verdict["success"] = False
            verdict["problems"].append(f"{name}: missing")
            continue
        fp = ParquetSource(folder).fingerprint(job["algorithm"])
        if spark is None:
            import pyarrow.parquet as pq

            df = pq.read_table(folder).to_pandas()
        else:
            df = spark.read.parquet(str(folder))
        result = run_suite(df, name, job["expectations"].get(name, {}))
        verdict["outputs"][name] = {"content_hash": fp.content_hash, **result}
        for c in result["checks"]:
            if not c["success"]:
                where = f" on {c['column']}" if c["column"] else ""
                verdict["problems"].append(f"{name}: {c['expectation']}{where} failed")
        verdict["success"] = verdict["success"] and result["success"]
    if spark is not None:
        spark.stop()
    verdict["engine"] = "spark" if spark is not None else "pandas"
    verdict["cpu_seconds"] = cpu_seconds(in_container=True)  # validate always is
    verdict["seconds"] = round(time.time() - started, 3)
    _write(verdict_file, verdict)
    if not verdict["success"]:
        print("validate: FAILED — " + "; ".join(verdict["problems"]), flush=True)
        return FAIL
    print(f"validate: {len(verdict['outputs'])} output(s) passed their expectations", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2 or args[0] not in ("run", "validate"):
        print("usage: python -m pipelines.prodjob run|validate JOB.json", file=sys.stderr)
        return 2
    job = json.loads(Path(args[1]).read_text())
    return {"run": run, "validate": validate}[args[0]](job)


if __name__ == "__main__":
    sys.exit(main())
