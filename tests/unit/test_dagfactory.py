"""The DAG factory, loaded by Airflow's own DagBag in Airflow's environment (no scheduler)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.airflowctl import FACTORY, FACTORY_FILE, airflow_env_path
from pipelines.contract import dag_id, runkey

HELPER = Path(__file__).parents[1] / "airflow_dagbag.py"


def spec(pipeline: str = "district_income", **extra: object) -> dict:
    version = (pipeline.encode().hex() * 64)[:64]
    base = {
        "dag_id": dag_id(pipeline, version),
        "pipeline": pipeline,
        "version": version,
        "deployment": 7,
        "deployed_by": "op",
        "description": "per district",
        "schedule": None,
        "inputs": ["people"],
        "outputs": [pipeline],
        "assets_in": [],
        "assets_out": [f"trustlab://products/{pipeline}"],
        "start_date": "2026-11-01T00:00:00+00:00",
        "python": sys.executable,
        "staging": f"/srv/staging/{pipeline}",
        "runner": "docker",
        "image": "trustlab-runner:latest",
        "limits": {"memory": "3G", "cpus": 1.5, "pids": 900, "tmp": "1g"},
        "mounts": [{"source": "/lake/raw/people/people.csv",
                    "target": "/data/raw/people/people.csv"}],
        "retries": 2,
        "retry_delay": 5,
    }  # fmt: skip
    base.update(extra)
    return base


def load(tmp_path: Path, *specs: dict, raw: dict[str, str] | None = None) -> dict:
    python = airflow_env_path() / "bin" / "python"
    if not python.exists():
        pytest.fail("no Airflow environment; run `python3 scripts/bootstrap.py airflow`")
    dags = tmp_path / "dags"
    (dags / "trustlab").mkdir(parents=True)
    (dags / FACTORY_FILE).write_text(FACTORY)
    for s in specs:
        (dags / "trustlab" / f"{s['pipeline']}.json").write_text(json.dumps(s))
    for name, text in (raw or {}).items():
        (dags / "trustlab" / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TRUSTLAB_"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "af-home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    done = subprocess.run(
        [str(python), str(HELPER), str(dags)], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_spec_becomes_verify_run_validate_publish_record(tmp_path: Path) -> None:
    s = spec(schedule="@daily")
    bag = load(tmp_path, s)
    assert bag["import_errors"] == {}
    dag = bag["dags"][s["dag_id"]]
    tasks = dag["tasks"]
    assert {t: v["upstream"] for t, v in tasks.items()} == {
        "verify": [], "run": ["verify"], "validate": ["run"], "publish": ["validate"],
        "record": ["publish"],
    }  # fmt: skip
    assert tasks["record"]["trigger_rule"].endswith("ALL_DONE")
    assert tasks["publish"]["outlets"] == ["trustlab://products/district_income"]
    assert dag["schedule"] == "0 0 * * *" and dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    for step in ("verify", "publish", "record"):
        assert tasks[step]["type"] == "TrustlabStep" and tasks[step]["step"] == step
        assert tasks[step]["python"] == sys.executable
    for step in ("run", "validate"):
        t = tasks[step]
        assert t["type"] == "HardenedDockerOperator"
        assert t["network_mode"] == "none" and t["user"] == "1000:1000"
        assert t["mem_limit"] == "3G" and t["mount_tmp_dir"] is False
        assert t["hardening"]["read_only"] is True
        assert t["hardening"]["cap_drop"] == ["ALL"]
        assert t["hardening"]["nano_cpus"] == 1_500_000_000
        assert t["hardening"]["pids_limit"] == 900
        assert t["command"] == ["python", "-m", "pipelines.prodjob", step, "/work/job.json"]
    run_mounts = {m["target"]: m for m in tasks["run"]["mounts"]}
    # Only the output folder is writable; inputs and the verified code are read-only.
    assert [t for t, m in run_mounts.items() if not m["read_only"]] == ["/work/out"]
    assert run_mounts["/data/raw/people/people.csv"]["source"] == "/lake/raw/people/people.csv"
    assert (
        run_mounts["/work/code"]["source"]
        == "/srv/staging/district_income/{{ run_id | runkey }}/code"
    )
    validate_mounts = {m["target"]: m["read_only"] for m in tasks["validate"]["mounts"]}
    assert validate_mounts == {"/work/job.json": True, "/work/out": True, "/work/check": False}
    assert "/data/raw/people/people.csv" not in validate_mounts  # validation never sees inputs


def test_a_pipeline_on_a_product_is_scheduled_by_its_asset(tmp_path: Path) -> None:
    up = spec("district_income")
    down = spec("district_rank", inputs=["district_income"],
                assets_in=["trustlab://products/district_income"])  # fmt: skip
    bag = load(tmp_path, up, down)
    assert bag["import_errors"] == {}
    assert bag["dags"][down["dag_id"]]["assets"] == ["trustlab://products/district_income"]
    assert bag["dags"][up["dag_id"]]["schedule"] == "NullTimetable"


def test_when_conditions_become_a_branch_after_verify(tmp_path: Path) -> None:
    s = spec(when={"mode": "full"})
    bag = load(tmp_path, s)
    assert bag["import_errors"] == {}
    tasks = bag["dags"][s["dag_id"]]["tasks"]
    assert tasks["check"]["type"] == "BranchPythonOperator"
    assert tasks["check"]["upstream"] == ["verify"] and tasks["run"]["upstream"] == ["check"]
    plain = load(tmp_path / "plain", spec())["dags"][s["dag_id"]]["tasks"]
    assert "check" not in plain and plain["run"]["upstream"] == ["verify"]


def test_spark_submit_runner_switch(tmp_path: Path) -> None:
    s = spec(runner="spark-submit", spark={
        "application": "/opt/trustlab/pipelines/prodjob.py", "binary": "/env/bin/spark-submit",
        "conn_id": "trustlab_spark", "driver_memory": "2g", "conf": {}, "env": {}})  # fmt: skip
    bag = load(tmp_path, s)
    assert bag["import_errors"] == {}
    run = bag["dags"][s["dag_id"]]["tasks"]["run"]
    assert run["type"] == "SparkSubmitOperator"
    assert run["application"] == "/opt/trustlab/pipelines/prodjob.py"
    assert run["application_args"] == [
        "run", "/srv/staging/district_income/{{ run_id | runkey }}/job.json"]  # fmt: skip


def test_a_damaged_spec_does_not_take_the_others_down(tmp_path: Path) -> None:
    good = spec("district_income")
    bag = load(tmp_path, good, raw={"broken.json": "{not json"})
    assert bag["import_errors"] == {}
    assert list(bag["dags"]) == [good["dag_id"]]


def test_no_deployments_no_dags(tmp_path: Path) -> None:
    assert load(tmp_path) == {"import_errors": {}, "dags": {}}


def test_runkey_is_stable_and_path_safe() -> None:
    key = runkey("manual__2026-11-29T00:53:20.876519+00:00")
    assert key == runkey("manual__2026-11-29T00:53:20.876519+00:00")
    assert len(key) == 20 and key.isalnum()
    assert key != runkey("manual__2026-11-29T00:53:20.876520+00:00")


def test_the_factory_imports_only_airflow_docker_and_the_stdlib() -> None:
    """The DAG module runs in Airflow's environment, which lacks trustlab's dependencies."""
    import ast

    root = Path(__file__).parents[2]
    for module in ("pipelines/dagfactory.py", "pipelines/contract.py"):
        tree = ast.parse((root / module).read_text())
        names = {
            n.module if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in (n.names if isinstance(n, ast.Import) else [n])
        }
        allowed = set(sys.stdlib_module_names) | {"airflow", "docker", "__future__"}
        bad = {n for n in names if n.split(".")[0] not in allowed and n != "pipelines.contract"}
        assert not bad, f"{module} imports {bad}"


@pytest.fixture(autouse=True)
def _no_stray_cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    yield
    shutil.rmtree(tmp_path / "af-home", ignore_errors=True)
