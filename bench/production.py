"""Production benchmark: trustlab's Airflow path against a bare ``spark-submit`` of the same code.

    make bench-production              # or: python bench/production.py [--rows 1000000 --runs 3]

The same approved pipeline (the demo ``district_income``: group 1,000,000 residents by
district, count and average income) on the same CSV input:

(a) trustlab end to end: ``trustlab pipeline trigger`` until Airflow reports the DAG run
    finished — verify (hash + approvals + input re-hash), run (hardened runner container,
    local Spark), validate (fresh container, Great Expectations), publish (catalog +
    ledger), record (metering + ledger).
(b) bare: ``spark-submit`` (the platform environment's, local[2], same driver memory) of a
    20-line driver that imports the same ``main.py`` and calls ``run(ctx)`` with a
    minimal ctx reading the same CSV and writing Parquet. No container, no checks.

Both are warmed once first (images built, page cache hot, DAG loaded). Printed: wall
times, the ratio of medians, and Airflow's queued→running latency per task.

The benchmark keeps its platform (1,000,000 demo rows, sample, accounts) in
``$TRUSTLAB_CACHE/bench-production`` so reruns skip the data generation, runs Airflow on
port 28300, and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TRUSTLAB = str(Path(sys.executable).with_name("trustlab"))
SPARK_SUBMIT = str(Path(sys.executable).with_name("spark-submit"))
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "pipelines" / "demo" / "district_income"
CACHE = Path(os.environ.get("TRUSTLAB_CACHE") or Path.home() / ".cache" / "trustlab")
AIRFLOW_PORT = 28300

BARE_DRIVER = textwrap.dedent(
    """
    import importlib.util, sys, types
    from pyspark.sql import SparkSession, functions as F

    code, source, out = sys.argv[1], sys.argv[2], sys.argv[3]
    spark = (SparkSession.builder.appName("bare").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "8").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spec = importlib.util.spec_from_file_location("bare_main", code + "/main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)

    def read(name):
        df = spark.read.option("header", True).csv(source)
        return df.withColumn("income", F.col("income").cast("long"))

    def write(name, df):
        df.write.mode("overwrite").parquet(out + "/" + name)

    main.run(types.SimpleNamespace(read=read, write=write, params={"min_group": 10}))
    spark.stop()
    """
)


def env_for(home: Path, rows: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLAB_")}
    env.update(
        TRUSTLAB_HOME=str(home),
        TRUSTLAB_DEMO_ROWS=str(rows),
        TRUSTLAB_AIRFLOW_PORT=str(AIRFLOW_PORT),
        TRUSTLAB_PRODUCTION_RETRIES="0",
    )
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([TRUSTLAB, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"trustlab {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(home: Path, rows: int, env: dict[str, str]) -> None:
    """Demo data, sample, accounts, Airflow, the demo pipeline deployed (cached)."""
    code = (
        "from hub.platform import Platform\n"
        "from sandbox.cli import up_demo, up_demo_sample, up_demo_accounts\n"
        "from hub.hubctl import up_images\n"
        "from pipelines.cli import up_airflow, up_demo_pipeline\n"
        "p = Platform()\n"
        "for step in (up_demo, up_demo_sample, up_demo_accounts, up_images, up_airflow,\n"
        "             up_demo_pipeline):\n"
        "    step(p)\n"
    )
    # A script file, not `python -c`: pyspark takes a main module without a file for its
    # own doctests and exits quietly when Spark Connect's imports are missing.
    home.mkdir(parents=True, exist_ok=True)
    script = home / "prepare.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"preparing the benchmark platform failed:\n{done.stderr[-3000:]}")


TRIGGER = """
import json, time
from hub.platform import Platform
from pipelines.production import Production

prod = Production(Platform())
run = prod.trigger("district_income", "demo-operator")  # what the platform API's route does
client = prod.airflow.client()
while (state := (client.dag_run(run["dag_id"], run["run_id"]) or {}).get("state")) not in (
    "success", "failed"):
    time.sleep(0.5)
print(json.dumps({"state": state, "info": prod.run_info(run["run_id"])}, default=str))
"""


def trustlab_run(env: dict[str, str], work: Path) -> tuple[float, dict]:
    """Trigger the demo DAG as the operator and wait until Airflow reports it done (the
    benchmark runs no hub, so it calls the operator's trigger in-process)."""
    script = work / "trigger.py"
    script.write_text(TRIGGER)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    done = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {}
    if done.get("state") != "success":
        raise SystemExit(f"the production run failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return wall, done["info"]


def bare_run(source: Path, work: Path) -> float:
    driver = work / "bare_driver.py"
    driver.write_text(BARE_DRIVER)
    out = work / "bare-out"
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               SPARK_LOCAL_IP="127.0.0.1")  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(
        [SPARK_SUBMIT, "--master", "local[2]", "--driver-memory", "2g", str(driver), str(DEMO),
         str(source), str(out)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"spark-submit failed:\n{done.stderr[-3000:]}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = CACHE / "bench-production" / f"rows-{args.rows}"
    env = env_for(home, args.rows)
    print(f"preparing {args.rows:,} demo rows, Airflow on :{AIRFLOW_PORT} ({home}) …", flush=True)
    prepare(home, args.rows, env)
    source = home / "lake" / "raw" / "people" / "people.csv"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            print("warming up (one run of each) …", flush=True)
            trustlab_run(env, home)
            bare_run(source, work)
            ours, bare, latencies = [], [], {}
            for i in range(args.runs):
                wall, info = trustlab_run(env, home)
                ours.append(wall)
                for t in info["tasks"]:
                    latencies.setdefault(t["task"], []).append(
                        (t["queued_to_running_s"], t["duration_s"])
                    )
                bare.append(bare_run(source, work))
                print(f"  run {i + 1}: trustlab {wall:.1f} s, spark-submit {bare[-1]:.1f} s",
                      flush=True)  # fmt: skip
    finally:
        cli(env, "airflow", "stop")
    ratio = statistics.median(ours) / statistics.median(bare)
    print()
    print(f"| {args.rows:,} rows, {args.runs} runs | median (s) | min (s) | max (s) |")
    print("|---|---|---|---|")
    print(f"| trustlab (trigger → DAG run done) | {statistics.median(ours):.1f} | "
          f"{min(ours):.1f} | {max(ours):.1f} |")  # fmt: skip
    print(f"| bare spark-submit | {statistics.median(bare):.1f} | {min(bare):.1f} | "
          f"{max(bare):.1f} |")  # fmt: skip
    print(f"| **ratio of medians** | **{ratio:.2f}×** (target ≤ 1.5×) | | |")
    print()
    print("| task | queued→running median (s) | duration median (s) |")
    print("|---|---|---|")
    for task, values in latencies.items():
        q = [v[0] for v in values if v[0] is not None]
        d = [v[1] for v in values if v[1] is not None]
        print(f"| {task} | {statistics.median(q):.2f} | {statistics.median(d):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
