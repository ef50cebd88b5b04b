"""``trustlab api …`` and ``trustlab app …``: the API builder through the platform API."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.commands import Context, emit_json, out, pass_ctx

FMT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
REASON = click.option("--reason", required=True, help="Why (recorded in the ledger).")


@click.group("api")
def api() -> None:
    """Governed REST APIs over products: serve, define, review, publish (docs/apis.md)."""


def _version(info: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_json(info)
        return
    click.echo(
        f"API {info['api']} v{info['version']} ({info['kind']}): {info['state']}, "
        f"hash {info['hash'][:12]}"
    )
    if info["providers"]:
        click.echo(f"  provider review needed from: {', '.join(info['providers'])}")
    for d in info["decisions"]:
        why = f" — {d['reason']}" if d["reason"] else ""
        click.echo(
            f"  {d['decision']} by {d['reviewer']} as {d['role']}"
            f"{' of ' + d['org'] if d['org'] else ''}{why}"
        )


@api.command("serve-product")
@click.argument("name")
@click.option("--version", type=int, help="Default: the product's latest version.")
@click.option("--index", "indexes", multiple=True, help="Also index these columns (a,b).")
@FMT
@pass_ctx
def serve_product(
    ctx: Context, name: str, version: int | None, indexes: tuple[str, ...], fmt: str
) -> None:
    """Load a product version into the serving database and swap it in (operators)."""
    body = {"version": version, "indexes": [i.split(",") for i in indexes]}
    with out.status(f"serving {name} …"):
        info = ctx.api.post(f"/apis/serving/{name}", body)
    if fmt == "json":
        emit_json(info)
        return
    what = "now serves" if info["changed"] else "already serves"
    click.echo(
        f"{name} {what} product v{info['product_version']} "
        f"({info['rows']:,} rows, table {info['table']})"
    )


@api.command("serving")
@FMT
@pass_ctx
def serving(ctx: Context, fmt: str) -> None:
    """What the serving database holds."""
    rows = ctx.api.get("/apis/serving")
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("name", "product version", "rows", "state", "table", "served at")
    for r in rows:
        table.add_row(
            r["name"],
            str(r["product_version"]),
            f"{r['rows']:,}",
            r["state"],
            r["table"],
            r["served_at"][:19],
        )
    out.print(table)


@api.command("create")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", required=True, help="The project the API belongs to.")
@FMT
@pass_ctx
def create(ctx: Context, file: Path, project: str, fmt: str) -> None:
    """Create a draft version from a definition file (YAML, TOML or JSON)."""
    from apis.spec import load, to_json

    d = load(file)  # refuse a bad file before anything is sent
    _version(ctx.api.post("/apis", {"project": project, "definition": to_json(d)}), fmt)


@api.command("submit")
@click.argument("name")
@click.option("--version", type=int, help="Default: the newest version.")
@FMT
@pass_ctx
def submit(ctx: Context, name: str, version: int | None, fmt: str) -> None:
    """Submit a draft for review."""
    path = f"/apis/{name}/submit" + (f"?version={version}" if version else "")
    _version(ctx.api.post(path), fmt)


def _decide(decision: str) -> Any:
    @click.argument("name")
    @click.argument("version", type=int)
    @click.option("--as", "role", type=click.Choice(["provider", "operator"]), required=True)
    @click.option("--reason", required=decision == "reject", help="Why (ledgered).")
    @FMT
    @pass_ctx
    def command(
        ctx: Context, name: str, version: int, role: str, reason: str | None, fmt: str
    ) -> None:
        body = {"role": role, "reason": reason}
        _version(ctx.api.post(f"/apis/{name}/versions/{version}/{decision}", body), fmt)

    command.__doc__ = f"{decision.capitalize()} an API version (bound to its hash)."
    return command


api.command("approve")(_decide("approve"))
api.command("reject")(_decide("reject"))


@api.command("publish")
@click.argument("name")
@click.argument("version", type=int)
@FMT
@pass_ctx
def publish(ctx: Context, name: str, version: int, fmt: str) -> None:
    """Publish an approved version: the gateway serves it (operators)."""
    _version(ctx.api.post(f"/apis/{name}/versions/{version}/publish"), fmt)


@api.command("offline")
@click.argument("name")
@click.argument("version", type=int)
@REASON
@FMT
@pass_ctx
def offline(ctx: Context, name: str, version: int, reason: str, fmt: str) -> None:
    """Take a version offline for good: the gateway answers 410 (operators)."""
    _version(ctx.api.post(f"/apis/{name}/versions/{version}/offline", {"reason": reason}), fmt)


@api.command("show")
@click.argument("name")
@FMT
@pass_ctx
def show(ctx: Context, name: str, fmt: str) -> None:
    """An API's versions and their review."""
    info = ctx.api.get(f"/apis/{name}")
    if fmt == "json":
        emit_json(info)
        return
    click.echo(f"API {info['name']} (project {info['project']})")
    for v in info["versions"]:
        _version(v, "table")


@api.command("list")
@FMT
@pass_ctx
def api_list(ctx: Context, fmt: str) -> None:
    """Every API and where its newest version stands."""
    rows = ctx.api.get("/apis")
    if fmt == "json":
        emit_json(rows)
        return
    table = Table("name", "project", "newest", "state", "published")
    for r in rows:
        table.add_row(
            r["name"],
            r["project"],
            f"v{r['latest']}",
            r["state"],
            ", ".join(f"v{n}" for n in r["published"]) or "-",
        )
    out.print(table)


def _when(value: str, name: str) -> str:
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=name) from None
    if t.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2027-01-01T00:00+08:00", param_hint=name)
    return t.isoformat()


@api.command("usage")
@click.option("--app", "application", help="One application (default: all).")
@click.option("--from", "start", required=True, help="ISO 8601 with a time zone.")
@click.option("--to", "end", required=True, help="ISO 8601 with a time zone (exclusive).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@pass_ctx
def usage(ctx: Context, application: str | None, start: str, end: str, fmt: str) -> None:
    """Metered calls for billing, per application, API version, contract, day and status."""
    params = {"start": _when(start, "--from"), "end": _when(end, "--to")}
    if application:
        params["application"] = application
    rows = ctx.api.get("/apis/usage", **params)
    if fmt == "json":
        emit_json(rows)
        return
    cols = [
        "application",
        "api",
        "version",
        "contract",
        "day",
        "status",
        "calls",
        "charged",
        "rows",
        "bytes",
    ]
    if fmt == "csv":
        import csv
        import sys

        w = csv.writer(sys.stdout)
        w.writerow(cols)
        for r in rows:
            w.writerow([r[c] if r[c] is not None else "" for c in cols])
        return
    table = Table(*cols)
    for r in rows:
        table.add_row(*(str(r[c]) if r[c] is not None else "-" for c in cols))
    out.print(table)


@api.command("monitor")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=24.0,
              show_default=True, help="The window, ending now.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def monitor(ctx: Context, hours: float, fmt: str) -> None:
    """Calls, error rate and p50/p95 latency per API and application; quota use today."""
    info = ctx.api.get("/apis/monitor", hours=hours)
    if fmt == "json":
        emit_json(info)
        return
    cols = ["calls", "client_errors", "server_errors", "error_rate", "p50_ms", "p95_ms", "rows"]

    def cells(r: dict[str, Any]) -> list[str]:
        return ["-" if r[c] is None else f"{r[c]:g}" for c in cols]

    click.echo(f"from {info['from'][:19]} to {info['to'][:19]} (UTC)")
    table = Table("api", "version", *cols, title="per API version")
    for r in info["apis"]:
        table.add_row(r["api"], f"v{r['version']}", *cells(r))
    out.print(table)
    table = Table("application", *cols, title="per application")
    quota = Table("application", "api", "contract", "used today", "quota", title="quota use")
    for r in info["applications"]:
        table.add_row(r["application"], *cells(r))
        for q in r["quota_today"]:
            limit = "-" if q["quota"] is None else str(q["quota"])
            quota.add_row(r["application"], q["api"], q["contract"], str(q["used"]), limit)
    out.print(table)
    out.print(quota)


# --- applications ---------------------------------------------------------------------------


@click.group("app")
def app() -> None:
    """Consumer applications and their API keys (operators)."""


def _app(info: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_json(info)
        return
    click.echo(f"application {info['name']} ({info['org']}): {info['state']}")
    for k in info["keys"]:
        until = f" until {k['expires_at'][:19]}" if k["expires_at"] else ""
        click.echo(f"  key {k['key_id']}: {k['state']}{until}")


@app.command("create")
@click.argument("name")
@click.option("--org", required=True, help="The consumer organisation.")
@click.option("--contact", help="Who to reach about it.")
@FMT
@pass_ctx
def app_create(ctx: Context, name: str, org: str, contact: str | None, fmt: str) -> None:
    """Register a consumer application (then import a contract for it)."""
    _app(ctx.api.post("/applications", {"name": name, "org": org, "contact": contact}), fmt)


@app.command("list")
@FMT
@pass_ctx
def app_list(ctx: Context, fmt: str) -> None:
    """Every application and its keys."""
    rows = ctx.api.get("/applications")
    if fmt == "json":
        emit_json(rows)
        return
    for r in rows:
        _app(r, "table")


@app.command("show")
@click.argument("name")
@FMT
@pass_ctx
def app_show(ctx: Context, name: str, fmt: str) -> None:
    """One application and its keys."""
    _app(ctx.api.get(f"/applications/{name}"), fmt)


@app.command("key")
@click.argument("name")
@click.option("--rotate", is_flag=True, help="The app's other keys end after the overlap.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the key to this file (mode 0600) instead of printing it.",
)
@pass_ctx
def app_key(ctx: Context, name: str, rotate: bool, output: Path | None) -> None:
    """Issue a key. It is shown this once; the platform keeps only a keyed hash."""
    info = ctx.api.post(f"/applications/{name}/keys" + ("?rotate=true" if rotate else ""))
    if output is not None:
        import os

        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(info["key"] + "\n")
        click.echo(f"key {info['key_id']} written to {output}")
    else:
        click.echo(info["key"])
    if info["rotated"]:
        click.echo(f"rotating out: {', '.join(info['rotated'])}", err=True)


@app.command("revoke-key")
@click.argument("name")
@click.argument("key_id")
@REASON
@FMT
@pass_ctx
def app_revoke(ctx: Context, name: str, key_id: str, reason: str, fmt: str) -> None:
    """End a key now."""
    _app(ctx.api.post(f"/applications/{name}/keys/{key_id}/revoke", {"reason": reason}), fmt)


# --- credentials of registered APIs ----------------------------------------------------------


@api.group("secret")
def secret() -> None:
    """Credentials registered APIs send upstream, kept server-side (operators)."""


@secret.command("set")
@click.argument("name")
@pass_ctx
def secret_set(ctx: Context, name: str) -> None:
    """Store NAME's value, read from stdin (or a hidden prompt), never from an argument."""
    import sys

    if sys.stdin.isatty():
        value = click.prompt(f"value of {name}", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    info = ctx.api.request("PUT", f"/api-secrets/{name}", json={"value": value})
    click.echo(f"API secret {info['name']}: {info['state']}")


@secret.command("list")
@FMT
@pass_ctx
def secret_list(ctx: Context, fmt: str) -> None:
    """The names of the stored credentials (never their values)."""
    names = ctx.api.get("/api-secrets")
    if fmt == "json":
        emit_json(names)
        return
    for name in names:
        click.echo(name)


# --- a consumer's generated client -----------------------------------------------------------


@app.command("client")
@click.argument("name")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Write the client project into this folder (it must not exist or be empty).",
)
@pass_ctx
def app_client(ctx: Context, name: str, output: Path) -> None:
    """Generate NAME's Python client from what its contracts allow (operators)."""
    if output.exists() and any(output.iterdir()):
        raise click.BadParameter(f"{output} is not empty", param_hint="-o")
    with out.status(f"generating the client of {name} …"):
        info = ctx.api.get(f"/applications/{name}/client")
    for rel, text in info["files"].items():
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise click.ClickException(f"refusing to write {rel!r} outside {output}")
        target = output / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    project = output / next(iter(info["files"])).split("/")[0]
    click.echo(
        f"client {info['package']} ({len(info['files'])} files) written to {project}; "
        f"install it with: pip install {project}"
    )
