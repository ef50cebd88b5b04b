"""``trustlab alerts``: risk alerts, freezes, violation reports (operators, auditors)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.table import Table

from hub.commands import Context, emit_json, out, pass_ctx

FMT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")


@click.group("alerts")
def alerts() -> None:
    """Risk alerts (风险告警) and freezes (权限冻结); see docs/contracts.md."""


@alerts.command("list")
@click.option("--subject", help="Only alerts about this user, project or contract.")
@click.option("--limit", type=int, default=50)
@FMT
@pass_ctx
def alerts_list(ctx: Context, subject: str | None, limit: int, fmt: str) -> None:
    """The newest alerts."""
    rows = ctx.api.get("/alerts", limit=limit, **({"subject": subject} if subject else {}))
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("id", "time", "severity", "rule", "subject", "summary", "freeze")
    for r in rows:
        style = {"high": "red", "medium": "yellow"}.get(r["severity"], "")
        table.add_row(str(r["id"]), r["time"][:19], f"[{style}]{r['severity']}[/]" if style
                      else r["severity"], r["rule"], f"{r['subject_kind']}:{r['subject']}",
                      r["summary"], str(r["freeze"] or ""))  # fmt: skip
    out.print(table if rows else "No alerts.")


@alerts.command("freezes")
@click.option("--open", "open_only", is_flag=True, help="Only freezes still in place.")
@FMT
@pass_ctx
def alerts_freezes(ctx: Context, open_only: bool, fmt: str) -> None:
    """Freezes, in place and lifted."""
    rows = ctx.api.get("/freezes", open_only=str(open_only).lower())
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("id", "frozen at", "what", "changed", "by", "lifted")
    for r in rows:
        lifted = f"{r['lifted_at'][:19]} by {r['lifted_by']}" if r["lifted_at"] else "in place"
        table.add_row(str(r["id"]), r["frozen_at"][:19], f"{r['kind']}:{r['target']}",
                      ", ".join(r["changed"]) or "-", r["frozen_by"], lifted)  # fmt: skip
    out.print(table if rows else "No freezes.")


@alerts.command("report")
@click.argument("alert_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the Markdown report here (default: standard output).")  # fmt: skip
@pass_ctx
def alerts_report(ctx: Context, alert_id: int, output: Path | None) -> None:
    """The violation report (违规行为报告) of one alert, as a document to file."""
    from hub.alerts import render

    text = render(ctx.api.get(f"/alerts/{alert_id}/report", format="json"))
    if output is None:
        click.echo(text)
        return
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output)
    click.echo(f"wrote {output}")


@alerts.command("freeze")
@click.argument("kind", type=click.Choice(["user", "project", "contract"]))
@click.argument("target")
@click.option("--reason", required=True)
@FMT
@pass_ctx
def alerts_freeze(ctx: Context, kind: str, target: str, reason: str, fmt: str) -> None:
    """Freeze a user, project or contract by hand (operators)."""
    row = ctx.api.post("/freezes", {"kind": kind, "target": target, "reason": reason})
    if fmt == "json":
        emit_json(row)
        return
    changed = ", ".join(row["changed"]) or "nothing was active"
    click.echo(f"freeze {row['id']}: {kind} {target} frozen ({changed})")


@alerts.command("unfreeze")
@click.argument("freeze_id", type=int)
@click.option("--reason", required=True)
@FMT
@pass_ctx
def alerts_unfreeze(ctx: Context, freeze_id: int, reason: str, fmt: str) -> None:
    """Lift a freeze (operators), restoring exactly what it changed."""
    row = ctx.api.post(f"/freezes/{freeze_id}/lift", {"reason": reason})
    if fmt == "json":
        emit_json(row)
        return
    click.echo(f"freeze {freeze_id} lifted: restored {', '.join(row['restored']) or 'nothing'}")
