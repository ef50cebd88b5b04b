"""The spark-submit runner (``TRUSTLAB_PRODUCTION_RUNNER=spark-submit``) against a real
Spark standalone master and worker, both on loopback, driven by the session's Airflow."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from test_production import cli_json, promote, tasks, versions, write_pipeline

from hub.platform import Platform
from hub.settings import Settings
from pipelines.production import Production

pytestmark = [pytest.mark.sandbox, pytest.mark.airflow]

MASTER_PORT, MASTER_UI, WORKER_UI = 17077, 18380, 18381
TRUSTLAB = str(Path(sys.executable).with_name("trustlab"))


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone master and one worker (1 core, 1 GiB) on 127.0.0.1."""
    work = tmp_path_factory.mktemp("spark-cluster")
    spark_class = str(Path(sys.executable).with_name("spark-class"))
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1",
               SPARK_LOG_DIR=str(work / "logs"), PYSPARK_PYTHON=sys.executable)  # fmt: skip
    url = f"spark://127.0.0.1:{MASTER_PORT}"
    procs = []
    try:
        for name, cmd in (
            ("master", [spark_class, "org.apache.spark.deploy.master.Master", "--host",
                        "127.0.0.1", "--port", str(MASTER_PORT), "--webui-port", str(MASTER_UI)]),
            ("worker", [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host",
                        "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port",
                        str(WORKER_UI), "--work-dir", str(work / "worker")]),
        ):  # fmt: skip
            with open(work / f"{name}.log", "ab") as log:
                procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=log,
                                              start_new_session=True))  # fmt: skip
            deadline = time.monotonic() + 90
            while not _listening(MASTER_PORT if name == "master" else WORKER_UI):
                assert time.monotonic() < deadline, (work / f"{name}.log").read_text()[-2000:]
                time.sleep(0.5)
        deadline = time.monotonic() + 60
        while not [w for w in state()["workers"] if w["state"] == "ALIVE"]:
            assert time.monotonic() < deadline, "the worker did not register with the master"
            time.sleep(0.5)
        yield url
    finally:
        for proc in procs:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(timeout=20)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue


def state() -> dict[str, Any]:
    return httpx.get(f"http://127.0.0.1:{MASTER_UI}/json/", timeout=10).json()


TOML = """
name = "cluster_lengths"
description = "residents per length of the district name, on the Spark cluster"
inputs = ["people"]
outputs = ["cluster_lengths"]

[expectations.cluster_lengths]
not_null = ["name_length"]
min_rows = 1
"""
CODE = """
from pyspark.sql import functions as F
from pyspark.sql import types as T


def run(ctx):
    length = F.udf(lambda s: len(s or ""), T.IntegerType())  # runs in the executors' Python
    people = ctx.read("people")
    ctx.write("cluster_lengths", people.groupBy(length("district").alias("name_length"))
              .agg(F.count("*").alias("residents")))
"""


def test_spark_submit_runner_on_a_standalone_cluster(
    hub_under_test: Any, spark_cluster: str, tmp_path: Path
) -> None:
    hub = hub_under_test
    vid = promote(hub, write_pipeline(tmp_path / "cluster", TOML, CODE))
    # The platform's production settings say spark-submit to this master (the API serves
    # the hub's own settings, so the operator's deploy runs here with the switched ones).
    settings = Settings(home=hub.home, airflow_port=hub.PORTS["AIRFLOW_PORT"],
                        production_runner="spark-submit",
                        production_spark_master=spark_cluster)  # fmt: skip
    p = Platform(settings)
    try:
        Production(p).deploy(vid, "demo-operator", log=lambda m: None)
    finally:
        p.close()
    spec = json.loads((hub.home / "airflow" / "dags" / "trustlab" / "cluster_lengths.json")
                      .read_text())  # fmt: skip
    assert spec["runner"] == "spark-submit" and spec["master"] == spark_cluster
    finished_before = len(state()["completedapps"])
    done = hub.as_user("demo-operator", "pipeline", "trigger", "cluster_lengths", "--wait")
    run_id = json.loads(done.stdout)["run_id"]
    info = cli_json(hub, "runs", "show", run_id, "--format", "json")
    assert done.returncode == 0, info
    assert info["state"] == "published"
    assert tasks(info)["run"] == ("success", 1)
    # The application ran on the cluster (the master saw it finish), not in a local Spark.
    assert len(state()["completedapps"]) == finished_before + 1
    product = versions(hub, "cluster_lengths")[-1]
    assert product["lineage"]["code_version"] == vid
    table = pq.read_table(product["location"])
    assert sum(table.column("residents").to_pylist()) == 100_000
    assert info["metering"]["rows_read"] == 100_000
