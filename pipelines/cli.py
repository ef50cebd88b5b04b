"""``trustlab pipeline …``: run on samples, scan, submit, dry-run, review."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.cli import Context, emit_json, err, out, pass_ctx

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
