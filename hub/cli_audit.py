"""``trustlab audit …``: the ledger through the platform API, and offline checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.commands import Context, emit_json, out, pass_ctx
from hub.errors import LedgerIntegrityError

# --- audit --------------------------------------------------------------------------------


@click.group("audit")
def audit() -> None:
    """Verify the evidence ledger, read it, and prove entries."""


@audit.command("verify")
@click.option("--file", "export_file", type=click.File("r"),
              help="Verify an exported ledger (`audit export`) offline instead.")  # fmt: skip
@click.option("--pubkey", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --file: pin the platform public key (PEM).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_ctx
def audit_verify(ctx: Context, export_file: Any, pubkey: Path | None, fmt: str) -> None:
    """Recompute the hash chain and all signed checkpoints. Exit 1 naming the first bad entry.

    Online (auditors, operators, admins) through the platform API, or offline from an export.
    """
    if export_file is not None:
        from hub.keys import load_public_key
        from hub.ledger import verify_export

        try:
            doc = json.load(export_file)
        except json.JSONDecodeError as exc:
            raise LedgerIntegrityError(f"the export is not JSON: {exc}") from None
        key = load_public_key(pubkey.read_bytes()) if pubkey else None
        r = verify_export(doc, key)
        report = {"ok": r.ok, "entries": r.entries, "checkpoints": r.checkpoints,
                  "covered_by_checkpoint": r.covered, "first_bad_seq": r.first_bad_seq,
                  "newest_checkpoint_time": r.newest_checkpoint_time, "problems": r.problems,
                  "key": "pinned" if key else "the export's own (not pinned)"}  # fmt: skip
    else:
        report = ctx.api.get("/audit/verify")
    report["newest_checkpoint_age_seconds"] = _age(report["newest_checkpoint_time"])
    if fmt == "json":
        emit_json(report)
    elif report["ok"]:
        age = report["newest_checkpoint_age_seconds"]
        newest = "none yet" if age is None else f"signed {_duration(age)} ago"
        click.echo(
            f"ledger intact: {report['entries']} entries, {report['checkpoints']} signed "
            f"checkpoints (newest {newest}); {report['entries'] - report['covered_by_checkpoint']}"
            " newest entries are not yet checkpointed"
        )
        for name, e in (report.get("evidence") or {}).items():
            click.echo(f"{name}: {e['checked']} {e['what']} match the ledger")
    else:
        if report["first_bad_seq"] is not None or report["problems"]:
            click.echo(f"LEDGER TAMPERED: first bad entry {report['first_bad_seq']}", err=True)
        for problem in report["problems"]:
            click.echo(f"  {problem}", err=True)
        for name, e in (report.get("evidence") or {}).items():
            for problem in e["problems"]:
                click.echo(f"{name.upper()} TAMPERED: {problem}", err=True)
    if not report["ok"]:
        sys.exit(1)


def _age(iso: str | None) -> float | None:
    """Seconds since ``iso`` (a ledger time), or None."""
    from datetime import UTC, datetime

    if not iso:
        return None
    then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return round((datetime.now(UTC) - then).total_seconds(), 1)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _write(out_path: Path, text: str) -> None:
    """Whole or not at all."""
    tmp = out_path.with_suffix(out_path.suffix + ".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(out_path)


@audit.command("export")
@click.option("--out", "out_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path))  # fmt: skip
@pass_ctx
def audit_export(ctx: Context, out_path: Path) -> None:
    """Write every entry and checkpoint to a file, for `audit verify --file` offline."""
    doc = ctx.api.get("/audit/export")
    _write(out_path, json.dumps(doc, ensure_ascii=False))
    click.echo(f"{len(doc['entries'])} entries, {len(doc['checkpoints'])} checkpoints -> "
               f"{out_path}")  # fmt: skip


@audit.command("checkpoint")
@pass_ctx
def audit_checkpoint(ctx: Context) -> None:
    """Sign a checkpoint over all entries now (operators, admins; normally on a timer)."""
    cp = ctx.api.post("/audit/checkpoint")
    if cp["tree_size"] is None:
        click.echo("nothing new to checkpoint")
    else:
        click.echo(f"checkpoint over {cp['tree_size']} entries: root {cp['root']}")


@audit.command("log")
@click.option("--limit", default=20, show_default=True)
@click.option("--action", help="Only entries with this action (e.g. dataset.register).")
@click.option("--subject", help="Only entries about this subject (e.g. dataset:people).")
@click.option("--by", "actor", help="Only entries by this person.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def audit_log(
    ctx: Context, limit: int, action: str | None, subject: str | None, actor: str | None,
    fmt: str,
) -> None:  # fmt: skip
    """Show the newest ledger entries (auditors, operators, admins)."""
    rows = ctx.api.get("/audit/entries", limit=limit, action=action, subject=subject,
                       actor=actor)  # fmt: skip
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("seq", "time", "actor", "action", "subject", "hash")
    for r in rows:
        table.add_row(
            str(r["seq"]), r["time"], r["actor"], r["action"], r["subject"], r["hash"][:12]
        )
    out.print(table)


@audit.command("proof")
@click.argument("seq", type=int)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def audit_proof(ctx: Context, seq: int, out_path: Path | None) -> None:
    """Print an inclusion proof of entry SEQ against the newest signed checkpoint."""
    text = json.dumps(ctx.api.get(f"/audit/proof/{seq}"), ensure_ascii=False, indent=2)
    if out_path:
        _write(out_path, text)
        click.echo(f"proof of entry {seq} written to {out_path}")
    else:
        click.echo(text)


@audit.command("check-proof")
@click.argument("proof_file", type=click.File("r"))
@click.option(
    "--pubkey",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pin the platform public key (PEM from `trustlab audit pubkey`). Default: this "
    "platform's key if its state directory exists, else the key inside the proof.",
)
def audit_check_proof(proof_file: Any, pubkey: Path | None) -> None:
    """Verify an inclusion proof offline (no database needed). Exit 1 if it does not hold."""
    from hub.keys import load_or_create_private_key, load_public_key
    from hub.ledger import check_proof
    from hub.settings import get_settings

    try:
        proof = json.load(proof_file)
    except json.JSONDecodeError as exc:
        raise LedgerIntegrityError(f"proof is not JSON: {exc}") from None
    key = None
    if pubkey:
        key = load_public_key(pubkey.read_bytes())
    elif get_settings().ledger_key.exists():
        key = load_or_create_private_key(get_settings().ledger_key).public_key()
    entry = check_proof(proof, key)
    pinned = "pinned key" if key else "key embedded in the proof (not pinned)"
    click.echo(
        f"proof holds: entry {entry['seq']} ({entry['action']} {entry['subject']}) is in the "
        f"signed tree of size {proof['tree_size']}; signature checked with the {pinned}"
    )


@audit.command("pubkey")
@pass_ctx
def audit_pubkey(ctx: Context) -> None:
    """Print the platform's checkpoint-signing public key (PEM)."""
    click.echo(ctx.api.get("/audit/pubkey")["pem"], nl=False)
