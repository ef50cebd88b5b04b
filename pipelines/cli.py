"""``trustlab pipeline …``: run on samples, scan, submit, dry-run, review."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.commands import Context, emit_json, err, out, pass_ctx
from hub.errors import TrustlabError

DIR = click.Path(file_okay=False, path_type=Path)


def _production(ctx: Context) -> Any:
    """For host commands only (Airflow start); people act through the platform API."""
    from pipelines.production import Production

    return Production(ctx.platform)


@click.group("pipeline")
def pipeline() -> None:
    """Pipelines: run on samples, scan, submit, dry-run, two-party review, production.

    Everything but `run` goes through the platform API as the person your token names
    (`trustlab login`, TRUSTLAB_TOKEN, or a sandbox's own token)."""


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
    """Static risk scan of FOLDER (not submitted); exit 1 when a high finding blocks it."""
    from pipelines.upload import pack

    result = ctx.api.post("/pipelines/scan", pack(folder))
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
@click.option("--project", help="The project it belongs to (default: your only project; "
              "in a sandbox, the sandbox's).")  # fmt: skip
@click.option("--dry-run", "then_dry_run", is_flag=True, help="Dry-run it right after the scan.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def submit_cmd(
    ctx: Context, folder: Path, project: str | None, then_dry_run: bool, fmt: str
) -> None:
    """Submit FOLDER as a new version (its content hash), as you; it is scanned at once."""
    from pipelines.client import submit

    _show(submit(ctx.api, folder, project, dry_run=then_dry_run), fmt)


@pipeline.command("dry-run")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def dry_run_cmd(ctx: Context, version: str, fmt: str) -> None:
    """Run VERSION on the samples in the runner container; record lineage and expectations."""
    err.print(f"dry run of {version[:12]} on the samples (a minute or so) …")
    _show(ctx.api.post(f"/pipelines/versions/{version}/dry-run"), fmt)


@pipeline.command("status")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def status_cmd(ctx: Context, version: str, fmt: str) -> None:
    """State, scan findings, dry-run result and review decisions of VERSION."""
    _show(ctx.api.get(f"/pipelines/versions/{version}"), fmt)


@pipeline.command("approve")
@click.argument("version")
@click.option("--as", "role", type=click.Choice(["provider", "operator"]),
              help="Which of your roles decides (default: every open part you hold).")  # fmt: skip
@pass_ctx
def approve_cmd(ctx: Context, version: str, role: str | None) -> None:
    """Approve VERSION, as you: a provider reviewer of an input's owner, or an operator."""
    _show(ctx.api.post(f"/pipelines/versions/{version}/approve", {"role": role}), "table")


@pipeline.command("reject")
@click.argument("version")
@click.option("--reason", required=True)
@click.option("--as", "role", type=click.Choice(["provider", "operator"]))
@pass_ctx
def reject_cmd(ctx: Context, version: str, reason: str, role: str | None) -> None:
    """Reject VERSION with a reason."""
    body = {"role": role, "reason": reason}
    _show(ctx.api.post(f"/pipelines/versions/{version}/reject", body), "table")


@pipeline.command("waive")
@click.argument("version")
@click.option("--rule", required=True)
@click.option("--at", "where", required=True, help="FILE:LINE of the finding.")
@click.option("--reason", required=True)
@pass_ctx
def waive_cmd(ctx: Context, version: str, rule: str, where: str, reason: str) -> None:
    """Waive one scanner finding on VERSION (operators; ledgered)."""
    file, _, line = where.rpartition(":")
    if not file or not line.isdigit():
        raise TrustlabError("--at must be FILE:LINE, e.g. main.py:12")
    body = {"rule": rule, "file": file, "line": int(line), "reason": reason}
    _show(ctx.api.post(f"/pipelines/versions/{version}/waivers", body), "table")


@pipeline.command("list")
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def list_cmd(ctx: Context, name: str | None, fmt: str) -> None:
    """Submitted versions you may see, newest first."""
    rows = ctx.api.get("/pipelines/versions", name=name)
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("version", "pipeline", "project", "state", "submitted by", "at")
    for r in rows:
        table.add_row(r["version"][:12], r["name"], r["project"] or "-", r["state"],
                      r["submitted_by"], r["submitted_at"][:19])  # fmt: skip
    out.print(table)


@pipeline.command("diff")
@click.argument("version")
@pass_ctx
def diff_cmd(ctx: Context, version: str) -> None:
    """Unified diff of VERSION against the previous version of the same pipeline."""
    click.echo(ctx.api.get(f"/pipelines/versions/{version}/diff")["diff"], nl=False)


def _show(status: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_json(status)
        return
    project = f" (project {status['project']})" if status.get("project") else ""
    click.echo(f"{status['name']} {status['version'][:12]}{project}: {status['state']}")
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


def _say(message: str) -> None:
    err.print(message)


def _logged(result: dict[str, Any]) -> dict[str, Any]:
    for line in result.pop("log", []):
        _say(line)
    return result


@pipeline.command("deploy")
@click.argument("version")
@click.option("--no-wait", is_flag=True, help="Do not wait for Airflow to load the DAG.")
@pass_ctx
def deploy_cmd(ctx: Context, version: str, no_wait: bool) -> None:
    """Make approved VERSION the live one of its pipeline (operators; an Airflow DAG)."""
    emit_json(_logged(ctx.api.post(f"/pipelines/versions/{version}/deploy",
                                   {"wait": not no_wait})))  # fmt: skip


@pipeline.command("rollback")
@click.argument("name")
@click.option("--to", "to", help="Version to go back to (default: the previous deployment).")
@click.option("--no-wait", is_flag=True, help="Do not wait for Airflow to load the DAG.")
@pass_ctx
def rollback_cmd(ctx: Context, name: str, to: str | None, no_wait: bool) -> None:
    """Deploy an earlier approved version of NAME again (operators)."""
    emit_json(_logged(ctx.api.post(f"/pipelines/{name}/rollback",
                                   {"to": to, "wait": not no_wait})))  # fmt: skip


@pipeline.command("retire")
@click.argument("name")
@pass_ctx
def retire_cmd(ctx: Context, name: str) -> None:
    """Take NAME's live deployment out of Airflow (operators)."""
    emit_json(ctx.api.post(f"/pipelines/{name}/retire"))


@pipeline.command("deployments")
@click.argument("name", required=False)
@pass_ctx
def deployments_cmd(ctx: Context, name: str | None) -> None:
    """Deployments, newest first."""
    table = Table("id", "pipeline", "version", "state", "dag", "by", "at")
    for d in ctx.api.get("/pipelines/deployments", name=name):
        table.add_row(str(d["deployment"]), d["name"], d["version"][:12], d["state"],
                      d["dag_id"], d["deployed_by"], d["deployed_at"][:19])  # fmt: skip
    out.print(table)


@pipeline.command("trigger")
@click.argument("name")
@click.option("--wait", is_flag=True, help="Wait for the run to finish; exit 1 if it failed.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Set a [when] switch of the pipeline (repeatable).")  # fmt: skip
@pass_ctx
def trigger_cmd(ctx: Context, name: str, wait: bool, params: tuple[str, ...]) -> None:
    """Start a production run of NAME's live version now (operators)."""
    given = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise TrustlabError(f"--param {item!r}: write KEY=VALUE")
        given[key.strip()] = value
    run = ctx.api.post(f"/pipelines/{name}/trigger", {"params": given})
    emit_json(run)
    if wait:
        state = wait_for_run(ctx.api, run["dag_id"], run["run_id"])
        sys.exit(0 if state == "success" else 1)


def wait_for_run(api: Any, dag_id: str, run_id: str, timeout: float = 3600) -> str:
    """Poll the run through the platform API until it ends, showing task states."""
    import time

    deadline = time.monotonic() + timeout
    shown: dict[str, str] = {}
    while time.monotonic() < deadline:
        now = api.get(f"/runs/airflow/{dag_id}/{run_id}")
        for task, state in now["tasks"].items():
            if shown.get(task) != state:
                shown[task] = state
                err.print(f"  {task}: {state}")
        if now["state"] in ("success", "failed"):
            return str(now["state"])
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
    rows = ctx.api.get("/runs", name=name)
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
    from urllib.parse import quote

    info = ctx.api.get(f"/runs/{quote(run_id, safe='')}")
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
    """``trustlab up`` step: the demo pipeline submitted by the demo developer to the demo
    project, dry-run, approved by the demo provider and operator, and deployed to Airflow
    (each step once; nothing when live). A host bootstrap step: it acts for the demo
    accounts it created, on the same rules (roles, contracts, two parties) as everyone."""
    from hub.errors import NotFound
    from pipelines.manifest import snapshot_files, version_id
    from pipelines.production import Production
    from pipelines.review import Review
    from sandbox.cli import DEMO_PROJECT

    prod, review = Production(platform), Review(platform)
    vid = version_id(snapshot_files(DEMO_PIPELINE))
    name = "district_income"
    if any(d["state"] == "active" and d["version"] == vid for d in prod.deployments(name)):
        click.echo(f"  demo pipeline {name} {vid[:12]} already deployed")
        return
    try:
        status = review.status(vid)
    except NotFound:
        status = review.submit(DEMO_PIPELINE, "demo-dev", DEMO_PROJECT)
    if status["state"] in ("scanned", "dry_run_failed"):
        status = review.dry_run(vid, "demo-dev", log=lambda m: click.echo(f"  {m}"))
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
