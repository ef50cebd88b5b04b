"""Masking benchmark: trustlab's Spark sample builder vs plain pandas + re vs Presidio.

    make bench-masking                      # 1,000,000 rows; Presidio on a 20,000-row prefix
    python bench/masking.py --rows 200000 --presidio-rows 20000

Every engine masks the same demo population (``sandbox.demo``) by the same rules (see
bench/README.md) and reads/writes Parquet. The floor is a plain Spark Parquet read+write
of the same data. trustlab runs with names in free text on (its default) and off
(like-for-like with the peers; the floor setting is relaxed for it), first with 2 task
threads and then with 1 (``--no-one-thread`` skips that). Its *mask+write* phase is what
compares with the peers; the full build adds the source re-hash, collecting the dataset's
own PII values, k-anonymity and the leak gate, reported separately. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from masking_peers import build_presidio, mask_pandas, mask_presidio

from hub.catalog import Catalog, Registration
from hub.platform import Platform
from hub.settings import Settings
from sandbox.builder import BuildRequest, SampleBuilder
from sandbox.demo import generate_people
from sandbox.policy import Policies
from sandbox.spark import spark_session, stop_spark

CACHE = Path(os.environ.get("TRUSTLAB_CACHE") or Path.home() / ".cache" / "trustlab") / "bench"


def demo_parquet(rows: int, spark, workdir: Path) -> Path:  # type: ignore[no-untyped-def]
    """The demo population as a 4-file Parquet folder (cached across runs)."""
    target = CACHE / f"people-{rows}.parquet"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    csv_path = workdir / "people.csv"
    print(f"generating {rows:,} demo rows ...", flush=True)
    generate_people(csv_path, rows=rows, seed=7)
    df = spark.read.option("header", True).option("escape", '"').csv(str(csv_path))
    df = df.withColumn("person_id", df["person_id"].cast("long"))
    df = df.withColumn("income", df["income"].cast("long"))
    df = df.withColumn("birth_date", df["birth_date"].cast("date"))
    tmp = target.with_suffix(".tmp")
    df.repartition(4).write.mode("overwrite").parquet(str(tmp))
    for extra in tmp.iterdir():
        if extra.name.startswith((".", "_")):
            extra.unlink()
    tmp.rename(target)
    return target


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def trustlab_build(platform: Platform, name: str, out: Path) -> dict[str, float]:
    """Run a full build (every row); return phase durations from the builder's steps."""
    marks: list[tuple[str, float]] = []

    def step(label: str) -> None:
        marks.append((label, time.perf_counter()))

    start = time.perf_counter()
    SampleBuilder(platform, step, actor="bench").build(BuildRequest(name, all_rows=True, out=out))
    end = time.perf_counter()
    phases: dict[str, float] = {}
    for (label, t0), (_, t1) in zip(marks, [*marks[1:], ("end", end)], strict=True):
        phases[label] = t1 - t0
    phases["total"] = end - start
    return phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--presidio-rows", type=int, default=20_000)
    parser.add_argument("--pandas-rows", type=int, default=None, help="default: all rows")
    parser.add_argument(
        "--no-one-thread", dest="one_thread", action="store_false",
        help="skip the 1-thread rerun (scaling with cores)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="trustlab-bench-"))
    try:
        rows_table: list[tuple[str, int, float, str]] = []
        for threads in (2, 1):
            stop_spark()
            settings = Settings(
                home=work / f"home{threads}",
                spark_driver_memory="4g",
                spark_master=f"local[{threads}]",
                masking_floor={**Settings().masking_floor, "free_text": {"names": 0}},
            )
            spark = spark_session(settings)
            source = demo_parquet(args.rows, spark, work)
            platform = Platform(settings)
            platform.init()
            catalog = Catalog(platform, "bench")
            tag = f"{threads} thread{'s' if threads > 1 else ''}"

            # Floor: plain Parquet read + write of the same data, best of three (the first
            # write in a JVM also pays for JIT warm-up).
            spark.read.parquet(str(source)).count()  # warm the page cache

            def copy(i: int, t: int = threads, s=spark, src=source) -> None:  # type: ignore[no-untyped-def]
                s.read.parquet(str(src)).write.parquet(str(work / f"floor{t}-{i}"))

            floor_s = min(timed(lambda i=i: copy(i))[0] for i in range(3))
            rows_table.append((f"Spark Parquet read+write (floor), {tag}", args.rows, floor_s, ""))

            for label, names in (("trustlab, names on", True), ("trustlab, names off", False)):
                name = f"people_{'names' if names else 'plain'}"
                catalog.register(Registration(str(source)), name, "civil-affairs")
                catalog.confirm(name)
                policies = Policies(platform, "tester")
                policies.set_rule(name, "income", "numeric_bucket", {"width": 10000})
                change = policies.set_rule(name, "remark", "free_text_redact", {"names": names})
                if change.status == "pending":  # free text is L4: an operator decides
                    Policies(platform, "bench-operator").decide(name, approve=True)
                assert Policies(platform, "tester").draft(name)["remark"]["params"] == {
                    "names": names
                }, "the build would not use the rule being measured"
                phases = trustlab_build(platform, name, work / f"{name}{threads}")
                mask_write = phases["masking and writing"]
                rows_table.append((f"{label}: mask+write, {tag}", args.rows, mask_write, ""))
                detail = ", ".join(f"{k} {v:.1f}s" for k, v in phases.items() if k != "total")
                rows_table.append(
                    (f"{label}: whole build, {tag}", args.rows, phases["total"], detail)
                )
            if args.one_thread is False:
                break

        pandas_rows = args.pandas_rows or args.rows
        frame = pd.read_parquet(source).head(pandas_rows).astype("string").astype(object)
        pandas_s, _ = timed(
            lambda: mask_pandas(frame).to_parquet(work / "pandas.parquet", index=False)
        )
        read_s, _ = timed(lambda: pd.read_parquet(source))
        rows_table.append(("pandas + re: read+mask+write", pandas_rows, pandas_s + read_s, ""))

        analyzer, anonymizer = build_presidio()
        prefix = frame.head(args.presidio_rows)
        presidio_s, _ = timed(
            lambda: mask_presidio(prefix, analyzer, anonymizer).to_parquet(
                work / "presidio.parquet", index=False
            )
        )
        rows_table.append(("Presidio (blank spaCy + patterns)", len(prefix), presidio_s, ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nmasking benchmark, {os.cpu_count()} cores\n")
    print(f"| {'engine':<52} | {'rows':>9} | {'seconds':>8} | {'rows/s':>10} |")
    print(f"|{'-' * 54}|{'-' * 11}|{'-' * 10}|{'-' * 12}|")
    rate = {}
    for label, n, seconds, _ in rows_table:
        rate[label] = n / seconds
        print(f"| {label:<52} | {n:>9,} | {seconds:>8.1f} | {n / seconds:>10,.0f} |")
    for label, _, _, detail in rows_table:
        if detail:
            print(f"  {label}: {detail}")
    ours = rate["trustlab, names off: mask+write, 2 threads"]
    names = rate["trustlab, names on: mask+write, 2 threads"]
    floor = rate["Spark Parquet read+write (floor), 2 threads"]
    presidio = rate["Presidio (blank spaCy + patterns)"]
    pandas_rate = rate["pandas + re: read+mask+write"]
    print("\ntargets (trustlab's mask+write phase, 2 threads):")
    print(f"  names off vs pandas+re   {ours / pandas_rate:6.2f}x  (target >= 3x)")
    print(f"  names off vs floor       {floor / ours:6.2f}x slower  (target <= 2x)")
    print(f"  names on  vs pandas+re   {names / pandas_rate:6.2f}x  (pandas+re finds no names)")
    print(f"  names on  vs floor       {floor / names:6.2f}x slower")
    print(f"  names off vs Presidio    {ours / presidio:6.1f}x")
    one = "trustlab, names on: mask+write, 1 thread"
    if one in rate:
        print(f"  scaling, names on: 2 threads / 1 thread = {names / rate[one]:.2f}x")
        plain_one = rate["trustlab, names off: mask+write, 1 thread"]
        print(f"  scaling, names off: 2 threads / 1 thread = {ours / plain_one:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
