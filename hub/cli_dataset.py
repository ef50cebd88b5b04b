"""``trustlab dataset …``: the catalog through the platform API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.commands import Context, emit_json, err, out, pass_ctx, print_catalog
from hub.errors import TrustlabError

# --- dataset ------------------------------------------------------------------------------


@click.group("dataset")
def dataset() -> None:
    """Register, classify, confirm and inspect datasets."""


@dataset.command("register")
@click.argument("source")
@click.option("--name", required=True, help="Catalog name (letters, digits, _ or -).")
@click.option("--owner", required=True, help="Owning organisation (the data provider).")
@click.option("--table", help="Table name when SOURCE is a SQLAlchemy URL (schema.table ok).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "sql"]), help="Override.")
@click.option("--encoding", help="CSV text encoding (default: detect utf-8 / gb18030).")
@click.option("--delimiter", help="CSV delimiter (default: sniffed).")
@click.option("--output", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def dataset_register(
    ctx: Context,
    source: str,
    name: str,
    owner: str,
    table: str | None,
    fmt: str | None,
    encoding: str | None,
    delimiter: str | None,
    output: str,
) -> None:
    """Register SOURCE (CSV file, Parquet file/folder on the platform host, or SQL URL +
    --table) as NAME (operators, admins, or a provider reviewer of OWNER)."""
    body = {"source": _host_path(source), "name": name, "owner": owner, "table": table,
            "format": fmt, "encoding": encoding, "delimiter": delimiter}  # fmt: skip
    err.print(f"registering {name}: the platform reads and hashes the source …")
    info = ctx.api.post("/datasets", body)
    if output == "json":
        emit_json(info)
        return
    print_dataset(info)
    click.echo(
        f"Classification proposed. Review it, adjust with `trustlab dataset classify {name} "
        f"--column C --pii TYPE --level L`, then `trustlab dataset confirm {name}`."
    )


@dataset.command("refresh")
@click.argument("name")
@pass_ctx
def dataset_refresh(ctx: Context, name: str) -> None:
    """Re-read NAME's source and record a new version if its content changed."""
    err.print(f"refreshing {name}: the platform re-reads and hashes the source …")
    info = ctx.api.post(f"/datasets/{name}/refresh")
    latest = info["versions"][-1]
    if info["changed"]:
        click.echo(f"{name}: new version {latest['number']} ({latest['content_hash'][:12]})")
        if info["classification_status"] != "confirmed":
            click.echo(f"Columns changed: review and run `trustlab dataset confirm {name}`.")
    else:
        click.echo(f"{name}: unchanged (version {latest['number']})")


@dataset.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def dataset_list(ctx: Context, fmt: str) -> None:
    """List the catalog."""
    rows = ctx.api.get("/datasets")
    if fmt == "json":
        emit_json(rows)
    else:
        print_catalog(rows)


def _host_path(source: str) -> str:
    """A local path made absolute (the platform host reads it); URLs pass unchanged."""
    if "://" in source:
        return source
    return str(Path(source).expanduser().resolve())


def print_dataset(info: dict[str, Any]) -> None:
    latest = info["versions"][-1] if info["versions"] else {}
    out.print(
        f"[bold]{info['name']}[/] ({info['kind']}) owner [bold]{info['owner']}[/] · "
        f"{info['source']['format']} · version {latest.get('number')} "
        f"{(latest.get('content_hash') or '')[:12]} · classification "
        f"[bold]{info['classification_status']}[/]"
    )
    table = Table("column", "type", "pii", "level", "qi", "proposed", "conf.", "evidence")
    for c in info["columns"]:
        pii_style = "red" if c["pii"] != "none" else "dim"
        table.add_row(
            c["name"],
            c["type"],
            f"[{pii_style}]{c['pii']}[/]",
            c["level"],
            "yes" if c["quasi_identifier"] else "",
            f"{c['proposed']['pii']}/{c['proposed']['level']}",
            f"{c['confidence']:.2f}",
            c["evidence"],
        )
    out.print(table)


@dataset.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def dataset_show(ctx: Context, name: str, fmt: str) -> None:
    """Show NAME's schema, classification and versions."""
    info = ctx.api.get(f"/datasets/{name}")
    if fmt == "json":
        emit_json(info)
    else:
        print_dataset(info)


@dataset.command("classify")
@click.argument("name")
@click.option("--column", required=True)
@click.option("--pii", help="PII type (id_card, mobile, name, address, email, bank_card, ...).")
@click.option("--level", help="Sensitivity level L1..L4.")
@click.option("--qi/--no-qi", "qi", default=None, help="Mark as quasi-identifier (or not).")
@pass_ctx
def dataset_classify(
    ctx: Context, name: str, column: str, pii: str | None, level: str | None, qi: bool | None
) -> None:
    """Edit one column's classification (the owner's provider reviewers; back to 'proposed')."""
    if pii is None and level is None and qi is None:
        raise TrustlabError("nothing to change: pass --pii, --level and/or --qi/--no-qi")
    body = {"pii": pii, "level": level, "quasi_identifier": qi}
    info = ctx.api.post(f"/datasets/{name}/columns/{column}", body)
    col = next(c for c in info["columns"] if c["name"] == column)
    click.echo(
        f"{name}.{column}: {col['pii']} {col['level']}{' (QI)' if col['quasi_identifier'] else ''}"
    )


@dataset.command("confirm")
@click.argument("name")
@pass_ctx
def dataset_confirm(ctx: Context, name: str) -> None:
    """Accept NAME's classification as it stands (the owner's provider reviewers)."""
    info = ctx.api.post(f"/datasets/{name}/confirm")
    pii = [c["name"] for c in info["columns"] if c["pii"] != "none"]
    click.echo(
        f"{name}: classification confirmed by {info['confirmed_by']} ({len(pii)} PII columns)"
    )
