"""``trustlab pipeline …``: run on samples, scan, submit, dry-run, review."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.cli import Context, emit_json, err, out, pass_ctx
from hub.errors import TrustlabError

DIR = click.Path(file_okay=False, path_type=Path)


def _review(ctx: Context) -> Any:
    from pipelines.review import Review

    return Review(ctx.platform)


@click.group("pipeline")
def pipeline() -> None:
    """Pipelines: run on samples, scan, submit, dry-run, two-party review."""


@pipeline.command("run")
@click.argument("folder", type=DIR)
@click.option("--env", type=click.Choice(["dev", "prod"]), default="dev", show_default=True)
@click.option("--out", "out_dir", type=DIR, help="Where outputs land (default: a temp folder).")
@pass_ctx
def run_cmd(ctx: Context, folder: Path, env: str, out_dir: Path | None) -> None:
    """Run FOLDER's run(ctx) on the latest samples of its inputs."""
    from hub.errors import TrustlabError
    from pipelines.dev import run_dev

    if env == "prod":
        raise TrustlabError(
            "production runs only approved versions, through Airflow; submit with "
            "`trustlab pipeline submit` and ask for review"
        )
    result = run_dev(folder, out_dir, platform=ctx.platform)
    for name, info in result.outputs.items():
        click.echo(f"{name}: {info['rows']:,} rows -> {info['path']}")


@pipeline.command("scan")
@click.argument("folder", type=DIR)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def scan_cmd(ctx: Context, folder: Path, fmt: str) -> None:
    """Static risk scan of FOLDER; exit 1 when a high finding blocks it."""
    result = _review(ctx).scan_folder(folder)
    if fmt == "json":
        click.echo(json.dumps({"blocked": result["blocked"], "findings": [
            {k: f[k] for k in ("rule", "severity", "file", "line", "message")}
            for f in result["findings"]]}, ensure_ascii=False, indent=2))  # fmt: skip
    else:
        _print_findings(result)
    sys.exit(1 if result["blocked"] else 0)


def _print_findings(result: dict[str, Any]) -> None:
    if not result["findings"]:
        out.print("no findings")
    table = Table("rule", "severity", "where", "message")
    for f in result["findings"]:
        sev = f["severity"] + (" (waived)" if f.get("waived") else "")
        table.add_row(f["rule"], sev, f"{f['file']}:{f['line']}", f["message"])
    if result["findings"]:
        out.print(table)
    out.print("[bold red]blocked[/]" if result["blocked"] else "not blocked")


@pipeline.command("submit")
@click.argument("folder", type=DIR)
@click.option("--user", "user_name", required=True, help="The submitting developer.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def submit_cmd(ctx: Context, folder: Path, user_name: str, fmt: str) -> None:
    """Snapshot FOLDER as a new version (its content hash) and scan it."""
    _require_user(ctx, user_name)
    _show(_review(ctx).submit(folder, user_name), fmt)


def _require_user(ctx: Context, name: str) -> None:
    from hub.identity import Directory

    Directory(ctx.platform).show_user(name)  # NotFound with a hint when unknown


@pipeline.command("dry-run")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def dry_run_cmd(ctx: Context, version: str, fmt: str) -> None:
    """Run VERSION on the samples in the runner container; record lineage and expectations."""
    from pipelines.dryrun import run_in_container

    review = _review(ctx)
    status = review.status(version)
    from hub.errors import InvalidState

    if status["state"] not in ("scanned", "dry_run_failed"):
        raise InvalidState(f"version {status['version'][:12]} is {status['state']}; only a "
                           "scanned, unblocked version is dry-run")  # fmt: skip
    with review.platform.db.session() as session:
        from pipelines.models import PipelineVersion

        status["snapshot"] = session.get(PipelineVersion, status["version"]).snapshot
    result = run_in_container(ctx.platform, status, log=lambda m: err.print(m))
    _show(review.record_dry_run(version, result), fmt)


@pipeline.command("status")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def status_cmd(ctx: Context, version: str, fmt: str) -> None:
    """State, scan findings, dry-run result and review decisions of VERSION."""
    _show(_review(ctx).status(version), fmt)


@pipeline.command("approve")
@click.argument("version")
@click.option("--as", "role", type=click.Choice(["provider", "operator"]), required=True)
@click.option("--user", "user_name", required=True, help="The reviewer (must hold the role).")
@pass_ctx
def approve_cmd(ctx: Context, version: str, role: str, user_name: str) -> None:
    """Approve VERSION as a provider reviewer (of an input's owner) or as an operator."""
    _show(_review(ctx).approve(version, role, user_name), "table")


@pipeline.command("reject")
@click.argument("version")
@click.option("--reason", required=True)
@click.option("--user", "user_name", required=True)
@click.option("--as", "role", type=click.Choice(["provider", "operator"]))
@pass_ctx
def reject_cmd(ctx: Context, version: str, reason: str, user_name: str, role: str | None) -> None:
    """Reject VERSION with a reason."""
    _show(_review(ctx).reject(version, user_name, reason, role), "table")


@pipeline.command("waive")
@click.argument("version")
@click.option("--rule", required=True)
@click.option("--at", "where", required=True, help="FILE:LINE of the finding.")
@click.option("--reason", required=True)
@click.option("--user", "user_name", required=True, help="An operator.")
@pass_ctx
def waive_cmd(
    ctx: Context, version: str, rule: str, where: str, reason: str, user_name: str
) -> None:
    """Waive one scanner finding on VERSION (operators; ledgered)."""
    from hub.errors import TrustlabError

    file, _, line = where.rpartition(":")
    if not file or not line.isdigit():
        raise TrustlabError("--at must be FILE:LINE, e.g. main.py:12")
    _review(ctx).waive(version, rule, file, int(line), reason, user_name)
    _show(_review(ctx).status(version), "table")


@pipeline.command("list")
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def list_cmd(ctx: Context, name: str | None, fmt: str) -> None:
    """Submitted versions, newest first."""
    rows = _review(ctx).list(name)
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("version", "pipeline", "state", "submitted by", "at")
    for r in rows:
        table.add_row(r["version"][:12], r["name"], r["state"], r["submitted_by"],
                      r["submitted_at"][:19])  # fmt: skip
    out.print(table)


@pipeline.command("diff")
@click.argument("version")
@pass_ctx
def diff_cmd(ctx: Context, version: str) -> None:
    """Unified diff of VERSION against the previous version of the same pipeline."""
    click.echo(_review(ctx).diff(version), nl=False)


def _show(status: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_json(status)
        return
    click.echo(f"{status['name']} {status['version'][:12]}: {status['state']}")
    scan = status.get("scan")
    if scan:
        highs = [f for f in scan["findings"] if f["severity"] == "high" and not f["waived"]]
        click.echo(f"  scan: {len(scan['findings'])} finding(s), {len(highs)} blocking")
        for f in highs:
            click.echo(f"    {f['rule']} {f['file']}:{f['line']} {f['message']}")
    dry = status.get("dry_run")
    if dry:
        click.echo(f"  dry run: {'passed' if dry['passed'] else 'failed'}")
        for problem in dry["problems"]:
            click.echo(f"    {problem}")
    for r in status["reviews"]:
        who = f"{r['role']}" + (f" of {r['org']}" if r["org"] else "")
        decision = f"{r['decision']} by {r['reviewer']}" if r["decision"] else "pending"
        click.echo(f"  {who}: {decision}")


# --- production -------------------------------------------------------------------------------


def _production(ctx: Context) -> Any:
    from pipelines.production import Production

    return Production(ctx.platform)


def _say(message: str) -> None:
    err.print(message)


@pipeline.command("deploy")
@click.argument("version")
@click.option("--user", "user_name", required=True, help="The operator deploying it.")
@click.option("--no-wait", is_flag=True, help="Do not wait for Airflow to load the DAG.")
@pass_ctx
def deploy_cmd(ctx: Context, version: str, user_name: str, no_wait: bool) -> None:
    """Make approved VERSION the live one of its pipeline (an Airflow DAG for that hash)."""
    result = _production(ctx).deploy(version, user_name, wait=not no_wait, log=_say)
    emit_json(result)


@pipeline.command("rollback")
@click.argument("name")
@click.option("--to", "to", help="Version to go back to (default: the previous deployment).")
@click.option("--user", "user_name", required=True, help="The operator.")
@click.option("--no-wait", is_flag=True, help="Do not wait for Airflow to load the DAG.")
@pass_ctx
def rollback_cmd(ctx: Context, name: str, to: str | None, user_name: str, no_wait: bool) -> None:
    """Deploy an earlier approved version of NAME again."""
    emit_json(_production(ctx).rollback(name, user_name, to, wait=not no_wait, log=_say))


@pipeline.command("retire")
@click.argument("name")
@click.option("--user", "user_name", required=True, help="The operator.")
@pass_ctx
def retire_cmd(ctx: Context, name: str, user_name: str) -> None:
    """Take NAME's live deployment out of Airflow."""
    emit_json(_production(ctx).retire(name, user_name))


@pipeline.command("deployments")
@click.argument("name", required=False)
@pass_ctx
def deployments_cmd(ctx: Context, name: str | None) -> None:
    """Deployments, newest first."""
    table = Table("id", "pipeline", "version", "state", "dag", "by", "at")
    for d in _production(ctx).deployments(name):
        table.add_row(str(d["deployment"]), d["name"], d["version"][:12], d["state"],
                      d["dag_id"], d["deployed_by"], d["deployed_at"][:19])  # fmt: skip
    out.print(table)


@pipeline.command("trigger")
@click.argument("name")
@click.option("--user", "user_name", required=True, help="The operator.")
@click.option("--wait", is_flag=True, help="Wait for the run to finish; exit 1 if it failed.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Set a [when] switch of the pipeline (repeatable).")  # fmt: skip
@pass_ctx
def trigger_cmd(
    ctx: Context, name: str, user_name: str, wait: bool, params: tuple[str, ...]
) -> None:
    """Start a production run of NAME's live version now."""
    given = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise TrustlabError(f"--param {item!r}: write KEY=VALUE")
        given[key.strip()] = value
    prod = _production(ctx)
    run = prod.trigger(name, user_name, given)
    emit_json(run)
    if wait:
        state = wait_for_run(prod, run["dag_id"], run["run_id"])
        sys.exit(0 if state == "success" else 1)


def wait_for_run(prod: Any, dag_id: str, run_id: str, timeout: float = 3600) -> str:
    """Poll Airflow until the DAG run ends, showing task states; the final state."""
    import time

    client = prod.airflow.client()
    deadline = time.monotonic() + timeout
    shown: dict[str, str] = {}
    while time.monotonic() < deadline:
        for ti in client.task_instances(dag_id, run_id):
            state = ti.get("state") or "none"
            if shown.get(ti["task_id"]) != state:
                shown[ti["task_id"]] = state
                err.print(f"  {ti['task_id']}: {state}")
        run = client.dag_run(dag_id, run_id)
        if run and run["state"] in ("success", "failed"):
            return str(run["state"])
        time.sleep(0.5)
    raise TrustlabError(f"run {run_id} did not finish within {timeout:.0f} s")


@click.group("runs")
def runs() -> None:
    """Production runs: list them, show one."""


@runs.command("list")
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def runs_list_cmd(ctx: Context, name: str | None, fmt: str) -> None:
    """Production runs, newest first (NAME: of one pipeline)."""
    rows = _production(ctx).runs(name)
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("run", "pipeline", "version", "state", "started", "airflow run id")
    for r in rows:
        table.add_row(str(r["run"]), r["name"], r["version"][:12], r["state"],
                      (r["started_at"] or "")[:19], r["airflow_run_id"])  # fmt: skip
    out.print(table)


@runs.command("show")
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def runs_show_cmd(ctx: Context, run_id: str, fmt: str) -> None:
    """One run: each task's state, validation, product versions, metering, log tail."""
    info = _production(ctx).run_info(run_id)
    if fmt == "json":
        emit_json(info)
        return
    out.print(
        f"run {info['run']}: {info['name']} {info['version'][:12]} — [bold]{info['state']}[/]"
    )
    out.print(f"airflow: {info['dag_id']} / {info['airflow_run_id']}")
    if info.get("error"):
        out.print(f"error: {info['error']}")
    table = Table("task", "state", "try", "queued→running (s)", "duration (s)")
    for t in info.get("tasks", []):
        table.add_row(t["task"], str(t["state"]), str(t["try"]),
                      str(t["queued_to_running_s"]), str(t["duration_s"]))  # fmt: skip
    out.print(table)
    for name, pinned in info["inputs"].items():
        out.print(f"input {name}: v{pinned['version']} {pinned['hash'][:16]}")
    for name, o in info["outputs"].items():
        out.print(f"product {name}: v{o['version']} {o['content_hash'][:16]} ({o['rows']:,} rows)")
    if info.get("validation"):
        ok = "passed" if info["validation"]["success"] else "FAILED"
        out.print(f"validation: {ok} {'; '.join(info['validation'].get('problems', []))}")
    if info.get("quarantine"):
        out.print(f"quarantined at {info['quarantine']}")
    if info.get("metering"):
        out.print("metering: " + ", ".join(f"{k}={v}" for k, v in info["metering"].items()))
    if info.get("log_tail"):
        out.print(f"--- log tail ({info['log_task']}) ---")
        for line in info["log_tail"]:
            out.print(line, markup=False, highlight=False)


@click.group("airflow")
def airflow() -> None:
    """The embedded Airflow (scheduler, dag-processor, triggerer, api-server on :8300)."""


@airflow.command("start")
@pass_ctx
def airflow_start_cmd(ctx: Context) -> None:
    """Start Airflow and write the DAG specs of the live deployments."""
    from pipelines.airflowctl import Airflow

    _production(ctx).sync_specs()
    Airflow(ctx.platform.settings).start(log=_say)


@airflow.command("stop")
@pass_ctx
def airflow_stop_cmd(ctx: Context) -> None:
    """Stop the embedded Airflow."""
    from pipelines.airflowctl import Airflow

    stopped = Airflow(ctx.platform.settings).stop()
    _say("Airflow stopped" if stopped else "Airflow was not running")


@airflow.command("status")
@pass_ctx
def airflow_status_cmd(ctx: Context) -> None:
    """Whether the embedded Airflow runs and is healthy; exit 1 if not."""
    from pipelines.airflowctl import Airflow

    af = Airflow(ctx.platform.settings)
    pids, healthy = af.pids(), af.healthy()
    out.print(f"Airflow at {af.url}: {'healthy' if healthy else 'not healthy'}; "
              f"components {', '.join(f'{k}={v}' for k, v in pids.items()) or 'none'}")  # fmt: skip
    sys.exit(0 if healthy else 1)


def up_airflow(platform: Any) -> None:
    """``trustlab up`` step: Airflow with the live deployments' DAGs."""
    from pipelines.airflowctl import Airflow
    from pipelines.production import Production

    Production(platform).sync_specs()
    af = Airflow(platform.settings)
    af.start(log=lambda m: click.echo(f"  {m}"))
    click.echo(f"  Airflow UI: {af.url}/  (user admin / {af.admin_password()})")


DEMO_PIPELINE = Path(__file__).with_name("demo") / "district_income"


def up_demo_pipeline(platform: Any) -> None:
    """``trustlab up`` step: the demo pipeline submitted, dry-run, approved by the demo
    provider and operator, and deployed to Airflow (each step once; nothing when live)."""
    from hub.errors import NotFound
    from pipelines.dryrun import run_in_container
    from pipelines.manifest import snapshot_files, version_id
    from pipelines.production import Production
    from pipelines.review import Review

    prod, review = Production(platform), Review(platform)
    vid = version_id(snapshot_files(DEMO_PIPELINE))
    name = "district_income"
    if any(d["state"] == "active" and d["version"] == vid for d in prod.deployments(name)):
        click.echo(f"  demo pipeline {name} {vid[:12]} already deployed")
        return
    try:
        status = review.status(vid)
    except NotFound:
        status = review.submit(DEMO_PIPELINE, "demo-dev")
    if status["state"] in ("scanned", "dry_run_failed"):
        status["snapshot"] = str(review.store / name / vid)
        result = run_in_container(platform, status, log=lambda m: click.echo(f"  {m}"))
        status = review.record_dry_run(vid, result)
    if status["state"] == "in_review":
        review.approve(vid, "provider", "demo-provider")
        status = review.approve(vid, "operator", "demo-operator")
    if status["state"] not in ("approved", "deployed", "retired"):
        raise TrustlabError(
            f"the demo pipeline {vid[:12]} is {status['state']}; see `trustlab pipeline status "
            f"{vid[:12]}`"
        )
    result = prod.deploy(vid, "demo-operator", log=lambda m: click.echo(f"  {m}"))
    click.echo(f"  demo pipeline {name} {vid[:12]} deployed: {result.get('airflow')}")
