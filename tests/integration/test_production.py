"""Production on the real engines: Airflow 3 schedules, Docker runs Spark in the runner
image, Great Expectations gates publication, the catalog and the ledger record it.

All of it runs against the platform ``trustlab up`` started for the session
(``hub_under_test``: 100,000 demo residents, Airflow on a test port with the demo pipeline
deployed). Tests that change shared state restore it.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import httpx
import pyarrow.parquet as pq
import pytest

from hub.catalog import Catalog
from hub.errors import NotFound
from hub.platform import Platform
from hub.settings import Settings
from pipelines.airflowctl import Airflow
from pipelines.production import Production

pytestmark = [pytest.mark.sandbox, pytest.mark.airflow]

DEMO = "district_income"


def platform(hub: Any) -> Platform:
    return Platform(Settings(home=hub.home, airflow_port=hub.PORTS["AIRFLOW_PORT"]))


def cli_json(hub: Any, *args: str, user: str = "demo-operator") -> Any:
    """``trustlab ARGS`` as ``user`` (a hub token of theirs), parsed as JSON."""
    done = hub.as_user(user, *args)
    assert done.returncode == 0, f"trustlab {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def write_pipeline(folder: Path, toml: str, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.toml").write_text(textwrap.dedent(toml))
    (folder / "main.py").write_text(textwrap.dedent(code))
    return folder


def promote(hub: Any, folder: Path) -> str:
    """Submit, dry-run and approve (provider and operator); the version hash."""
    vid = cli_json(hub, "pipeline", "submit", str(folder),
                   "--format", "json", user="demo-dev")["version"]  # fmt: skip
    dry = cli_json(hub, "pipeline", "dry-run", vid, "--format", "json", user="demo-dev")
    assert dry["state"] == "in_review", dry["dry_run"]
    for role, user in (("provider", "demo-provider"), ("operator", "demo-operator")):
        done = hub.as_user(user, "pipeline", "approve", vid, "--as", role)
        assert done.returncode == 0, done.stderr
    return vid


@contextmanager
def granted(hub: Any, project: str, dataset: str) -> Iterator[None]:
    """A contract for ``dataset`` in force for ``project`` for a while (a member asks, its
    owner's reviewer and the operator approve), revoked afterwards if there was none: the
    shared platform is restored."""
    mine = cli_json(hub, "contract", "list", "--party", project, "--format", "json",
                    user="demo-dev")  # fmt: skip
    if any(c["in_force"] and any(o["dataset"] == dataset and "pipeline" in o["modes"]
                                 for o in c["objects"]) for c in mine):  # fmt: skip
        yield
        return
    ref = cli_json(hub, "contract", "request", project, dataset, "--mode", "pipeline",
                   "--format", "json", user="demo-dev")["ref"]  # fmt: skip
    for reviewer in ("demo-provider", "demo-operator"):
        cli_json(hub, "contract", "approve", ref, "--format", "json", user=reviewer)
    try:
        yield
    finally:
        cli_json(hub, "contract", "revoke", ref, "--reason", "test done", "--format", "json",
                 user="demo-provider")  # fmt: skip


def deploy(hub: Any, vid: str) -> dict[str, Any]:
    return cli_json(hub, "pipeline", "deploy", vid, user="demo-operator")


def trigger(hub: Any, name: str, *params: str) -> tuple[int, dict[str, Any]]:
    """Trigger ``name`` (``params``: KEY=VALUE switches) and wait; (exit status of --wait,
    `runs show` of the run)."""
    args = [a for p in params for a in ("--param", p)]
    done = hub.as_user("demo-operator", "pipeline", "trigger", name, "--wait", *args)
    assert done.stdout.strip(), done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    return done.returncode, cli_json(hub, "runs", "show", run_id, "--format", "json")


def wait_demo_run(hub: Any, run_id: str) -> tuple[str, dict[str, Any]]:
    """Wait for a run of the live demo DAG; (Airflow's final state, `runs show` of it)."""
    from pipelines.cli import wait_for_run

    dag = f"trustlab__{DEMO}__{live_version(hub, DEMO)[:12]}"
    api = hub.client("demo-operator")  # what `trigger --wait` polls, as the operator
    try:
        state = wait_for_run(api, dag, run_id, timeout=900)
    finally:
        api.close()
    return state, cli_json(hub, "runs", "show", run_id, "--format", "json")


def tasks(info: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {t["task"]: (t["state"], t["try"]) for t in info["tasks"]}


def versions(hub: Any, name: str) -> list[dict[str, Any]]:
    p = platform(hub)
    try:
        return Catalog(p, "tester").show(name)["versions"]
    except NotFound:
        return []
    finally:
        p.close()


def ledger_for_run(hub: Any, action: str, run: int) -> list[dict[str, Any]]:
    return [e for e in hub.ledger(action) if e["payload"].get("run") == run]


def live_version(hub: Any, name: str) -> str:
    p = platform(hub)
    try:
        return next(d["version"] for d in Production(p).deployments(name) if d["state"] == "active")
    finally:
        p.close()


def run_container(hub: Any, timeout: float = 180) -> Any:
    """The production run container of this home, once it runs."""
    client = docker.from_env()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in client.containers.list(filters={"label": "org.trustlab.role=production-run"}):
            if c.labels.get("org.trustlab.staging", "").startswith(str(hub.home)):
                return c
        time.sleep(0.3)
    raise AssertionError("no production run container appeared")


# --- the happy path -------------------------------------------------------------------------


def test_up_deployed_the_demo_pipeline_and_airflow_loaded_it(hub_under_test: Any) -> None:
    hub = hub_under_test
    vid = live_version(hub, DEMO)
    client = Airflow(platform(hub).settings).client()
    dag = client.dag(f"trustlab__{DEMO}__{vid[:12]}")
    assert dag is not None and not dag["is_paused"]
    assert [e for e in client.import_errors() if "trustlab" in e["filename"]] == []
    assert [e["payload"]["version"] for e in hub.ledger("pipeline.deploy")][:1] == [vid]
    ui = httpx.get(f"http://127.0.0.1:{hub.PORTS['AIRFLOW_PORT']}/", timeout=30)
    assert ui.status_code == 200 and "<html" in ui.text.lower()
    assert "Airflow UI: http://127.0.0.1:18300/" in hub.up.stdout


def test_deploy_trigger_run_validate_publish(hub_under_test: Any) -> None:
    hub = hub_under_test
    vid = live_version(hub, DEMO)
    before = len(versions(hub, DEMO))
    code, info = trigger(hub, DEMO)
    assert code == 0, info
    assert info["state"] == "published"
    assert tasks(info) == {t: ("success", 1) for t in
                           ("verify", "run", "validate", "publish", "record")}  # fmt: skip
    after = versions(hub, DEMO)
    assert len(after) == before + 1
    product = after[-1]
    people = versions(hub, "people")[-1]
    # Lineage: exactly the approved code and the exact input version that was read.
    lineage = product["lineage"]
    assert lineage["code_version"] == vid and lineage["run"] == info["run"]
    assert lineage["inputs"]["people"]["hash"] == people["content_hash"]
    assert lineage["inputs"]["people"]["version"] == people["number"]
    assert info["outputs"][DEMO]["version"] == product["number"]
    # The data is in the products zone, whole, and is what the catalog says.
    location = Path(product["location"])
    assert location.parent == hub.home / "lake" / "products" / DEMO
    table = pq.read_table(location)
    assert table.num_rows == product["rows"] == info["outputs"][DEMO]["rows"] > 0
    assert set(table.column_names) == {"district", "residents", "avg_income"}
    assert min(table.column("residents").to_pylist()) >= 10
    assert info["validation"]["success"] is True
    metering = info["metering"]
    assert metering["rows_read"] == 100_000 and metering["rows_written"] == product["rows"]
    assert metering["cpu_seconds"] > 0 and metering["duration_seconds"] > 0
    published = ledger_for_run(hub, "product.publish", info["run"])
    assert [e["payload"]["content_hash"] for e in published] == [product["content_hash"]]
    finished = ledger_for_run(hub, "pipeline.run", info["run"])
    assert len(finished) == 1 and finished[0]["payload"]["state"] == "published"
    assert finished[0]["payload"]["metering"] == metering
    # Nothing of the run is left in staging.
    assert not any((hub.home / "staging").glob("*/*/out"))


# --- refusals --------------------------------------------------------------------------------


def test_code_edited_after_approval_is_refused_and_ledgered(hub_under_test: Any) -> None:
    hub = hub_under_test
    vid = live_version(hub, DEMO)
    main = hub.home / "pipelines" / DEMO / vid / "main.py"
    original = main.read_bytes()
    before = len(versions(hub, DEMO))
    main.chmod(0o644)
    try:
        main.write_bytes(original + b"\nimport os  # slipped in after approval\n")
        code, info = trigger(hub, DEMO)
    finally:
        main.write_bytes(original)
        main.chmod(0o444)
    assert code == 1
    assert info["state"] == "refused"
    assert tasks(info)["verify"] == ("failed", 1)  # refused, not retried
    assert tasks(info)["run"][0] == "upstream_failed"
    alerts = [e for e in hub.ledger("pipeline.tamper") if e["payload"]["run"] == info["run"]]
    assert len(alerts) == 1
    assert alerts[0]["payload"]["expected"] == vid and alerts[0]["payload"]["found"] != vid
    assert len(versions(hub, DEMO)) == before
    # And a deploy of a changed version is refused too (bad input: exit 2, ledgered).
    main.chmod(0o644)
    try:
        main.write_bytes(original + b"\n# edited\n")
        done = hub.as_user("demo-operator", "pipeline", "deploy", vid)
    finally:
        main.write_bytes(original)
        main.chmod(0o444)
    assert done.returncode == 2


def wait_reparsed(hub: Any, since: float, timeout: float = 120) -> None:
    """Wait until Airflow's dag-processor has parsed the demo DAG's spec after ``since``."""
    from datetime import datetime

    client = Airflow(platform(hub).settings).client()
    dag = f"trustlab__{DEMO}__{live_version(hub, DEMO)[:12]}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parsed = (client.dag(dag) or {}).get("last_parsed_time")
        if parsed and datetime.fromisoformat(parsed.replace("Z", "+00:00")).timestamp() > since:
            return
        time.sleep(1)
    raise AssertionError(f"Airflow did not re-parse {dag} within {timeout:.0f} s")


class EditedSpec:
    """The live demo spec in Airflow's DAGs folder, edited as an intruder would, then put
    back; each waits until Airflow parsed the file again."""

    def __init__(self, hub: Any, change: Any) -> None:
        self.hub, self.change = hub, change
        self.path = hub.home / "airflow" / "dags" / "trustlab" / f"{DEMO}.json"

    def __enter__(self) -> dict[str, Any]:
        self.original = self.path.read_text()
        spec = json.loads(self.original)
        self.change(spec)
        since = time.time()
        self.path.write_text(json.dumps(spec, indent=2))
        wait_reparsed(self.hub, since)
        return spec

    def __exit__(self, *exc: Any) -> None:
        since = time.time()
        self.path.write_text(self.original)
        wait_reparsed(self.hub, since)


def assert_refused_before_any_container(hub: Any, info: dict[str, Any], before: int) -> dict:
    assert info["state"] == "refused", info
    assert tasks(info)["verify"] == ("failed", 1)  # refused, not retried
    for step in ("run", "validate", "publish"):  # never started: no container ran
        assert tasks(info)[step][0] == "upstream_failed", info["tasks"]
    assert len(versions(hub, DEMO)) == before
    alerts = [e for e in hub.ledger("pipeline.tamper") if e["payload"]["run"] == info["run"]]
    assert len(alerts) == 1, alerts
    return alerts[0]["payload"]


def _extra_mount(spec: dict[str, Any]) -> None:
    spec["mounts"].append({"source": "/etc", "target": "/data/raw/people/etc"})


def _other_image(spec: dict[str, Any]) -> None:
    other = docker.from_env().images.get(Settings().sandbox_image)
    spec["image"], spec["image_digest"] = Settings().sandbox_image, other.id


@pytest.mark.parametrize(
    ("change", "field"), [(_extra_mount, "mounts"), (_other_image, "image_digest")]
)
def test_a_deployed_spec_edited_afterwards_is_refused(
    hub_under_test: Any, change: Any, field: str
) -> None:
    hub = hub_under_test
    before = len(versions(hub, DEMO))
    with EditedSpec(hub, change):
        code, info = trigger(hub, DEMO)
    assert code == 1
    alert = assert_refused_before_any_container(hub, info, before)
    assert field in alert["changed"]
    assert alert["found_binding"] != alert["expected_binding"]
    assert "differs from deployment" in info["error"]


def test_a_swapped_runner_image_is_refused(hub_under_test: Any) -> None:
    hub = hub_under_test
    client = docker.from_env()
    spec = json.loads((hub.home / "airflow" / "dags" / "trustlab" / f"{DEMO}.json").read_text())
    repository, _, tag = spec["image"].rpartition(":")
    assert tag.startswith("pinned-") and client.images.get(spec["image"]).id == spec["image_digest"]
    impostor = client.images.get(Settings().sandbox_image)
    before = len(versions(hub, DEMO))
    impostor.tag(repository, tag)  # the pinned tag now names another image
    try:
        code, info = trigger(hub, DEMO)
    finally:
        client.images.get(spec["image_digest"]).tag(repository, tag)
    assert code == 1
    alert = assert_refused_before_any_container(hub, info, before)
    assert alert["image"] == {"expected": spec["image_digest"], "found": impostor.id,
                              "tag": spec["image"]}  # fmt: skip
    code, info = trigger(hub, DEMO)  # the approved image back: runs again
    assert code == 0 and info["state"] == "published", info


def test_a_deployment_runs_the_image_its_review_saw(hub_under_test: Any, tmp_path: Path) -> None:
    hub = hub_under_test
    live = cli_json(hub, "pipeline", "status", live_version(hub, DEMO), "--format", "json",
                    user="demo-dev")["dry_run"]  # fmt: skip
    spec = json.loads((hub.home / "airflow" / "dags" / "trustlab" / f"{DEMO}.json").read_text())
    assert (spec["image"], spec["image_digest"]) == (live["image_tag"], live["image"])
    src = Path(__file__).parents[2] / "pipelines" / "demo" / DEMO
    folder = write_pipeline(tmp_path / "again", (src / "pipeline.toml").read_text(),
                            (src / "main.py").read_text() + "\n# reviewed again\n")  # fmt: skip
    vid = promote(hub, folder)
    reviewed = cli_json(hub, "pipeline", "status", vid, "--format", "json", user="demo-dev")
    repository, _, tag = reviewed["dry_run"]["image_tag"].rpartition(":")
    client = docker.from_env()
    client.images.get(Settings().sandbox_image).tag(repository, tag)  # the image moved on
    try:
        done = hub.as_user("demo-operator", "pipeline", "deploy", vid)
    finally:
        client.images.get(reviewed["dry_run"]["image"]).tag(repository, tag)
    assert done.returncode == 2 and "was reviewed on" in done.stderr, done.stderr
    assert [e for e in hub.ledger("pipeline.deploy.refused") if vid in e["subject"]]
    assert live_version(hub, DEMO) != vid


def test_an_unapproved_version_is_not_deployed(hub_under_test: Any, tmp_path: Path) -> None:
    hub = hub_under_test
    folder = tmp_path / "unapproved"
    src = Path(__file__).parents[2] / "pipelines" / "demo" / DEMO
    (folder).mkdir()
    (folder / "pipeline.toml").write_text((src / "pipeline.toml").read_text())
    (folder / "main.py").write_text((src / "main.py").read_text() + "\n# a new version\n")
    vid = cli_json(hub, "pipeline", "submit", str(folder),
                   "--format", "json", user="demo-dev")["version"]  # fmt: skip
    done = hub.as_user("demo-operator", "pipeline", "deploy", vid)
    assert done.returncode == 2 and "refused" in done.stderr and "not approved" in done.stderr
    refusals = [e for e in hub.ledger("pipeline.deploy.refused") if vid in e["subject"]]
    assert len(refusals) == 1
    done = hub.as_user("demo-dev", "pipeline", "deploy", live_version(hub, DEMO))
    assert done.returncode == 2  # a developer is not an operator


# --- gates and faults ----------------------------------------------------------------------------

TOTAL_TOML = """
name = "total_residents"
description = "one row: how many residents"
inputs = ["people"]
outputs = ["total_residents"]

[expectations.total_residents]
columns = ["total"]
ranges = { total = [0, 50000] }
"""
TOTAL_CODE = """
from pyspark.sql import functions as F

def run(ctx):
    ctx.write("total_residents", ctx.read("people").agg(F.count("*").alias("total")))
"""


def test_a_failing_expectation_quarantines_the_output(hub_under_test: Any, tmp_path: Path) -> None:
    """Passes on the 10,000-row sample, fails on the 100,000 real rows."""
    hub = hub_under_test
    vid = promote(hub, write_pipeline(tmp_path / "total", TOTAL_TOML, TOTAL_CODE))
    deploy(hub, vid)
    code, info = trigger(hub, "total_residents")
    assert code == 1
    assert info["state"] == "quarantined"
    states = tasks(info)
    assert states["run"] == ("success", 1)
    assert states["validate"] == ("failed", 1)  # a failed expectation is never retried
    assert states["publish"][0] == "upstream_failed"
    assert "expect_column_values_to_be_between on total failed" in info["error"]
    assert versions(hub, "total_residents") == []  # no product, not even an empty one
    quarantined = Path(info["quarantine"])
    assert pq.read_table(quarantined).column("total").to_pylist() == [100_000]
    assert not list((hub.home / "lake" / "products").glob("total_residents*/*"))
    recorded = ledger_for_run(hub, "pipeline.run", info["run"])
    assert recorded[0]["payload"]["state"] == "quarantined"
    assert "100000" not in json.dumps(info["validation"])  # the verdict holds no values


SPARK_FAIL_TOML = """
name = "guarded_count"
description = "fails in Spark when there are more rows than in the sample"
inputs = ["people"]
outputs = ["guarded_count"]
"""
SPARK_FAIL_CODE = """
from pyspark.sql import functions as F

def run(ctx):
    n = ctx.read("people").agg(F.count("*").alias("n"))
    guarded = F.when(F.col("n") > 50000, F.raise_error(F.lit("too many rows"))).otherwise(F.col("n"))
    ctx.write("guarded_count", n.select(guarded.alias("n")))
"""


def test_a_spark_failure_fails_the_run_once_and_publishes_nothing(
    hub_under_test: Any, tmp_path: Path
) -> None:
    hub = hub_under_test
    vid = promote(hub, write_pipeline(tmp_path / "guard", SPARK_FAIL_TOML, SPARK_FAIL_CODE))
    deploy(hub, vid)
    code, info = trigger(hub, "guarded_count")
    assert code == 1 and info["state"] == "failed"
    assert tasks(info)["run"] == ("failed", 1)  # the pipeline's own error: not retried
    assert "too many rows" in info["error"]
    assert versions(hub, "guarded_count") == []
    assert not (hub.home / "lake" / "products" / "guarded_count").exists()


def test_an_input_missing_at_run_time_fails_cleanly(hub_under_test: Any) -> None:
    hub = hub_under_test
    raw = hub.home / "lake" / "raw" / "people" / "people.csv"
    aside = raw.with_name("people.csv.aside")
    before = len(versions(hub, DEMO))
    raw.rename(aside)
    try:
        code, info = trigger(hub, DEMO)
    finally:
        aside.rename(raw)
    assert code == 1 and info["state"] == "failed"
    assert tasks(info)["verify"] == ("failed", 1)
    assert "input" in info["error"] and "people" in info["error"]
    assert len(versions(hub, DEMO)) == before


def test_a_killed_run_container_is_retried_and_published_once(hub_under_test: Any) -> None:
    hub = hub_under_test
    before = len(versions(hub, DEMO))
    done = hub.as_user("demo-operator", "pipeline", "trigger", DEMO)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    container = run_container(hub)
    container.reload()
    host = container.attrs["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in host["SecurityOpt"]
    assert host["NanoCpus"] > 0 and host["Memory"] > 0 and host["PidsLimit"] > 0
    assert container.attrs["Config"]["User"] == "1000:1000"
    writable = [m["Destination"] for m in container.attrs["Mounts"] if m["RW"]]
    assert writable == ["/work/out"]
    container.kill()
    state, info = wait_demo_run(hub, run_id)
    assert state == "success" and info["state"] == "published"
    assert tasks(info)["run"] == ("success", 2)
    assert len(versions(hub, DEMO)) == before + 1
    assert len(ledger_for_run(hub, "product.publish", info["run"])) == 1


def test_airflow_restarted_mid_run_resumes_and_publishes_once(hub_under_test: Any) -> None:
    hub = hub_under_test
    before = len(versions(hub, DEMO))
    done = hub.as_user("demo-operator", "pipeline", "trigger", DEMO)
    run_id = json.loads(done.stdout)["run_id"]
    run_container(hub)
    assert hub.cli("airflow", "stop").returncode == 0
    started = hub.cli("airflow", "start")
    assert started.returncode == 0, started.stderr
    state, info = wait_demo_run(hub, run_id)
    assert state == "success" and info["state"] == "published"
    assert len(versions(hub, DEMO)) == before + 1
    assert len(ledger_for_run(hub, "product.publish", info["run"])) == 1


# --- versions and dependencies ---------------------------------------------------------------------

RANK_TOML = """
name = "income_rank"
description = "districts ranked by average income"
inputs = ["district_income"]
outputs = ["income_rank"]

[expectations.income_rank]
not_null = ["district", "rank"]
"""
RANK_CODE = """
from pyspark.sql import Window
from pyspark.sql import functions as F

def run(ctx):
    d = ctx.read("district_income")
    ctx.write("income_rank", d.select("district", F.rank().over(
        Window.orderBy(F.desc("avg_income"))).alias("rank")))
"""


def test_a_new_product_version_triggers_the_downstream_pipeline(
    hub_under_test: Any, tmp_path: Path
) -> None:
    hub = hub_under_test
    with granted(hub, "demo", DEMO):  # a pipeline reads only what a contract in force allows
        vid = promote(hub, write_pipeline(tmp_path / "rank", RANK_TOML, RANK_CODE))
        deploy(hub, vid)
        code, upstream = trigger(hub, DEMO)
        assert code == 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = [r for r in cli_json(hub, "runs", "list", "income_rank", "--format", "json")
                    if r["state"] not in ("running",)]  # fmt: skip
            if done:
                break
            time.sleep(3)
        else:
            raise AssertionError("the downstream pipeline did not run on the new product version")
    info = cli_json(hub, "runs", "show", str(done[0]["run"]), "--format", "json")
    assert info["state"] == "published"
    assert info["airflow_run_id"].startswith("asset_triggered__")
    rank = versions(hub, "income_rank")[-1]
    assert (
        rank["lineage"]["inputs"]["district_income"]["version"]
        == (upstream["outputs"][DEMO]["version"])
    )


def test_a_newer_version_retires_the_old_dag_and_rollback_restores_it(
    hub_under_test: Any, tmp_path: Path
) -> None:
    hub = hub_under_test
    old = live_version(hub, DEMO)
    src = Path(__file__).parents[2] / "pipelines" / "demo" / DEMO
    folder = tmp_path / "v2"
    folder.mkdir()
    (folder / "pipeline.toml").write_text(
        (src / "pipeline.toml").read_text().replace("min_group = 10", "min_group = 20")
    )
    (folder / "main.py").write_text((src / "main.py").read_text())
    new = promote(hub, folder)
    result = deploy(hub, new)
    assert result["replaced"] == old
    specs = hub.home / "airflow" / "dags" / "trustlab"
    assert json.loads((specs / f"{DEMO}.json").read_text())["version"] == new
    assert live_version(hub, DEMO) == new
    back = cli_json(hub, "pipeline", "rollback", DEMO, user="demo-operator")
    assert back["version"] == old and back["replaced"] == new
    assert live_version(hub, DEMO) == old
    assert [e["payload"]["version"] for e in hub.ledger("pipeline.rollback")][-1] == old
    code, info = trigger(hub, DEMO)
    assert code == 0 and info["version"] == old


SWITCH_TOML = """
name = "mode_count"
description = "people counted, in full mode only"
inputs = ["people"]
outputs = ["mode_count"]

[params]
mode = "full"

[when]
mode = "full"
"""
SWITCH_CODE = """
from pyspark.sql import functions as F

def run(ctx):
    counted = ctx.read("people").agg(F.count("*").alias("n"))
    ctx.write("mode_count", counted.withColumn("mode", F.lit(ctx.params["mode"])))
"""


def test_when_conditions_branch_and_only_switches_can_be_set(
    hub_under_test: Any, tmp_path: Path
) -> None:
    hub = hub_under_test
    vid = promote(hub, write_pipeline(tmp_path / "switch", SWITCH_TOML, SWITCH_CODE))
    deploy(hub, vid)
    done = hub.as_user("demo-operator", "pipeline", "trigger", "mode_count",
                   "--param", "min_rows=1")  # fmt: skip
    assert done.returncode == 2 and "not a param of this pipeline" in done.stderr
    # The condition does not hold: the DAG run succeeds with nothing run or published.
    code, info = trigger(hub, "mode_count", "mode=incremental")
    assert code == 0 and info["state"] == "skipped"
    assert info["params"] == {"mode": "incremental"}
    states = tasks(info)
    assert states["verify"][0] == "success" and states["check"][0] == "success"
    assert {states[t][0] for t in ("run", "validate", "publish")} == {"skipped"}
    assert versions(hub, "mode_count") == []
    assert ledger_for_run(hub, "pipeline.run", info["run"])[0]["payload"]["state"] == "skipped"
    # It holds: the switch value reaches ctx.params.
    code, info = trigger(hub, "mode_count", "mode=full")
    assert code == 0 and info["state"] == "published"
    table = pq.read_table(versions(hub, "mode_count")[-1]["location"])
    assert table.column("mode").to_pylist() == ["full"]
    assert table.column("n").to_pylist() == [100_000]
