"""``trustlab contract``: import, request, decide, suspend/resume/revoke, show, export."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.commands import Context, emit_json, out, pass_ctx

FMT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
REASON = click.option("--reason", required=True, help="Why (recorded in the ledger).")


@click.group("contract")
def contract() -> None:
    """Digital contracts (数字合约): who may use which data, how, for what, until when.

    A contract is active once a provider reviewer of every object's owner and an operator
    approved its exact version; see docs/contracts.md."""


def _print(info: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_json(info)
        return
    force = "in force" if info["in_force"] else "not in force"
    until = info["valid_until"] or "no end date"
    click.echo(f"contract {info['ref']} — {info.get('title') or ''}")
    click.echo(f"  {info['party_kind']} {info['party']}: {info['state']} ({force}), "
               f"v{info['version'] or '-'}, {info['valid_from'] or '?'} → {until}")  # fmt: skip
    for obj in info["objects"]:
        cols = obj["columns"] if obj["columns"] == "*" else ", ".join(obj["columns"])
        click.echo(f"  {obj['dataset']}: {', '.join(obj['modes'])}; columns {cols}")
    limits = {k: v for k, v in (info.get("limits") or {}).items() if v}
    if limits:
        click.echo("  limits: " + ", ".join(f"{k} {v:,}" for k, v in limits.items()))
    for v in info["versions"]:
        waiting = f"; awaiting {', '.join(v['awaiting'])}" if v["awaiting"] else ""
        click.echo(f"  v{v['number']} {v['hash'][:12]} {v['status']}{waiting}")
    for note in info.get("notes") or []:
        click.echo(f"  note: {note}")


@contract.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@FMT
@pass_ctx
def contract_import(ctx: Context, file: Path, fmt: str) -> None:
    """Import a contract document (JSON, docs/contract.schema.json) as a draft (operators)."""
    from hub.contract_doc import load

    doc = load(file)  # refuse a bad document before anything is sent
    _print(ctx.api.post("/contracts", doc.to_json()), fmt)


@contract.command("export")
@click.argument("ref")
@click.option("--version", type=int, help="Default: the version in force (else the newest).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here (default: standard output).")  # fmt: skip
@pass_ctx
def contract_export(ctx: Context, ref: str, version: int | None, output: Path | None) -> None:
    """Write a contract's document in the form `contract import` reads."""
    doc = ctx.api.get(f"/contracts/{ref}/export", **({"version": version} if version else {}))
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output)  # never a half-written file
    click.echo(f"wrote {output}")


@contract.command("schema")
def contract_schema() -> None:
    """Print the JSON Schema of contract documents."""
    from hub.contract_doc import json_schema

    emit_json(json_schema())


@contract.command("request")
@click.argument("project")
@click.argument("dataset")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    default=("sandbox", "pipeline"),
    type=click.Choice(["sandbox", "pipeline", "api", "labeling"]),
    help="Usage mode; repeat for several (default: sandbox and pipeline).",
)
@click.option("--column", "columns", multiple=True, help="Allowed column (default: all).")
@click.option("--days", type=int, help="Validity in days (default: setting).")
@click.option("--purpose", default="", help="What the data is for (用途).")
@FMT
@pass_ctx
def contract_request(ctx: Context, project: str, dataset: str, modes: tuple[str, ...],
                     columns: tuple[str, ...], days: int | None, purpose: str,
                     fmt: str) -> None:  # fmt: skip
    """Ask for DATASET in PROJECT, as a member: a draft its owner and an operator decide."""
    body = {"project": project, "dataset": dataset, "modes": list(modes),
            "columns": list(columns) or None, "days": days, "purpose": purpose}  # fmt: skip
    _print(ctx.api.post("/contracts/request", body), fmt)


@contract.command("approve")
@click.argument("ref")
@click.option("--role", type=click.Choice(["provider", "operator"]),
              help="Which of your roles approves, when you hold both.")  # fmt: skip
@FMT
@pass_ctx
def contract_approve(ctx: Context, ref: str, role: str | None, fmt: str) -> None:
    """Approve the version awaiting approval (as the owner's reviewer, or an operator)."""
    _print(ctx.api.post(f"/contracts/{ref}/approve", {"role": role}), fmt)


@contract.command("reject")
@click.argument("ref")
@REASON
@FMT
@pass_ctx
def contract_reject(ctx: Context, ref: str, reason: str, fmt: str) -> None:
    """Reject the version awaiting approval, with a reason."""
    _print(ctx.api.post(f"/contracts/{ref}/reject", {"reason": reason}), fmt)


def _state_command(action: str, doc: str) -> None:
    @contract.command(action, help=doc)
    @click.argument("ref")
    @REASON
    @FMT
    @pass_ctx
    def command(ctx: Context, ref: str, reason: str, fmt: str) -> None:
        _print(ctx.api.post(f"/contracts/{ref}/{action}", {"reason": reason}), fmt)


_state_command("suspend", "Suspend a contract at once (operators, or the data owner).")
_state_command("resume", "Lift a suspension (operators), with a reason.")
_state_command("revoke", "Revoke a contract for good (operators, or the data owner).")


@contract.command("show")
@click.argument("ref")
@FMT
@pass_ctx
def contract_show(ctx: Context, ref: str, fmt: str) -> None:
    """A contract's terms, state, versions and decisions."""
    _print(ctx.api.get(f"/contracts/{ref}"), fmt)


@contract.command("list")
@click.option("--party", help="Only this project's contracts.")
@click.option("--state", type=click.Choice(["draft", "active", "suspended", "expired",
                                            "revoked", "rejected"]))  # fmt: skip
@FMT
@pass_ctx
def contract_list(ctx: Context, party: str | None, state: str | None, fmt: str) -> None:
    """The contracts you may see."""
    params = {k: v for k, v in (("party", party), ("state", state)) if v}
    rows = ctx.api.get("/contracts", **params)
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("ref", "party", "state", "in force", "datasets", "until", "version")
    for r in rows:
        table.add_row(r["ref"], r["party"], r["state"], "yes" if r["in_force"] else "no",
                      ", ".join(o["dataset"] for o in r["objects"]),
                      r["valid_until"] or "-", str(r["version"] or "-"))  # fmt: skip
    out.print(table if rows else "No contracts yet: `trustlab contract import FILE`.")
