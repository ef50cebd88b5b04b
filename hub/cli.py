"""The ``trustlab`` command line.

Hub commands live here; feature packages add theirs through the ``trustlab.cli`` entry
point group (each entry point is a click command or group), so the hub imports none of them.
Errors a user can cause print one line and exit 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from hub import __version__
from hub.errors import LedgerIntegrityError, TrustlabError
from hub.platform import Platform, plugins

# Piped output (logs, CI, `make up`) is not squeezed to 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


class Context:
    """Lazily built platform shared by the commands of one invocation."""

    def __init__(self) -> None:
        self._platform: Platform | None = None

    @property
    def platform(self) -> Platform:
        if self._platform is None:
            self._platform = Platform()
            self._platform.init()
        return self._platform

    @property
    def catalog(self) -> Any:
        from hub.catalog import Catalog

        return Catalog(self.platform)


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@contextmanager
def progress_bar(description: str, unit: str) -> Iterator[Callable[[int, int | None], None]]:
    """A Rich progress bar on stderr; yields ``update(done, total)``. Silent when not a TTY."""
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    columns.append(DownloadColumn() if unit == "bytes" else MofNCompleteColumn())
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class TrustlabGroup(click.Group):
    """Adds plugin commands from the ``trustlab.cli`` entry points."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *plugins("trustlab.cli")})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is None and name in (found := plugins("trustlab.cli")):
            cmd = found[name].load()
        return cmd


@click.group(cls=TrustlabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trustlab")
def cli() -> None:
    """trustlab — trusted computing platform for authorized public-data operation."""


# --- config / init / up -------------------------------------------------------------------


@cli.command("config")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table")
def config_cmd(fmt: str) -> None:
    """Print every setting, its value and where it came from (secrets hidden)."""
    from hub.settings import Settings, get_settings

    rows = get_settings().describe()
    if fmt == "json":
        emit_json([{"env": e, "value": v, "source": s, "help": h} for e, v, s, h in rows])
        return
    if fmt == "markdown":  # the reference in docs/settings.md, without this machine's values
        click.echo(Settings.reference_markdown(), nl=False)
        return
    table = Table("setting", "value", "source", "description", show_lines=False)
    for row in rows:
        table.add_row(*row)
    out.print(table)


@cli.command("init")
@pass_ctx
def init_cmd(ctx: Context) -> None:
    """Initialize TRUSTLAB_HOME: zones, metadata DB (migrated), ledger key. Idempotent."""
    p = ctx.platform
    click.echo(f"trustlab home: {p.settings.home}")
    click.echo(f"metadata DB:   {p.settings.metadata_url.split('://')[0]} (migrated)")


@cli.command("up")
@pass_ctx
def up_cmd(ctx: Context) -> None:
    """Initialize, run every registered start-up step (demo data, services), print the catalog."""
    p = ctx.platform
    click.echo(f"trustlab {__version__} — home {p.settings.home}")
    for name, ep in sorted(plugins("trustlab.up").items()):
        click.echo(f"· {name}")
        ep.load()(p)
    print_catalog(ctx.catalog.list())


# --- dataset ------------------------------------------------------------------------------


@cli.group("dataset")
def dataset() -> None:
    """Register, classify, confirm and inspect datasets."""


def print_catalog(rows: list[dict[str, Any]]) -> None:
    table = Table("name", "kind", "owner", "format", "rows", "versions", "classification", "hash")
    for r in rows:
        status = r["classification_status"]
        style = "green" if status == "confirmed" else "yellow"
        table.add_row(
            r["name"],
            r["kind"],
            r["owner"],
            r["format"],
            "" if r["rows"] is None else f"{r['rows']:,}",
            str(r["versions"]),
            f"[{style}]{status}[/]",
            (r["latest_hash"] or "")[:12],
        )
    out.print(table if rows else "The catalog is empty: `trustlab dataset register` adds a source.")


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
    """Register SOURCE (CSV file, Parquet file/folder, or SQL URL + --table) as NAME."""
    from hub.catalog import Registration

    reg = Registration(source, table, fmt, encoding, delimiter)
    with progress_bar(f"hashing {name}", "rows" if table else "bytes") as update:
        info = ctx.catalog.register(reg, name, owner, progress=update)
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
    with progress_bar(f"hashing {name}", "bytes") as update:
        info = ctx.catalog.refresh(name, progress=update)
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
    rows = ctx.catalog.list()
    if fmt == "json":
        emit_json(rows)
    else:
        print_catalog(rows)


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
    info = ctx.catalog.show(name)
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
    """Edit the classification of one column (returns the dataset to 'proposed')."""
    info = ctx.catalog.classify(name, column, pii, level, qi)
    col = next(c for c in info["columns"] if c["name"] == column)
    click.echo(
        f"{name}.{column}: {col['pii']} {col['level']}{' (QI)' if col['quasi_identifier'] else ''}"
    )


@dataset.command("confirm")
@click.argument("name")
@pass_ctx
def dataset_confirm(ctx: Context, name: str) -> None:
    """Accept NAME's classification as it now stands; downstream use requires this."""
    info = ctx.catalog.confirm(name)
    pii = [c["name"] for c in info["columns"] if c["pii"] != "none"]
    click.echo(
        f"{name}: classification confirmed by {info['confirmed_by']} ({len(pii)} PII columns)"
    )


# --- audit --------------------------------------------------------------------------------


@cli.group("audit")
def audit() -> None:
    """Verify the evidence ledger, read it, and prove entries."""


@audit.command("verify")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_ctx
def audit_verify(ctx: Context, fmt: str) -> None:
    """Recompute the hash chain and all signed checkpoints. Exit 1 naming the first bad entry."""
    p = ctx.platform
    with p.db.session() as session:
        report = p.ledger.verify(session)
    if fmt == "json":
        emit_json(
            {
                "ok": report.ok,
                "entries": report.entries,
                "checkpoints": report.checkpoints,
                "covered_by_checkpoint": report.covered,
                "newest_checkpoint_time": report.newest_checkpoint_time,
                "newest_checkpoint_age_seconds": _age(report.newest_checkpoint_time),
                "first_bad_seq": report.first_bad_seq,
                "problems": report.problems,
            }
        )
    elif report.ok:
        age = _age(report.newest_checkpoint_time)
        newest = "none yet" if age is None else f"signed {_duration(age)} ago"
        click.echo(
            f"ledger intact: {report.entries} entries, {report.checkpoints} signed checkpoints "
            f"(newest {newest}); {report.entries - report.covered} newest entries are not yet "
            "checkpointed"
        )
    else:
        click.echo(f"LEDGER TAMPERED: first bad entry {report.first_bad_seq}", err=True)
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
    if not report.ok:
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


@audit.command("checkpoint")
@pass_ctx
def audit_checkpoint(ctx: Context) -> None:
    """Sign a checkpoint over all entries now (normally automatic)."""
    p = ctx.platform
    with p.db.session() as session:
        cp = p.ledger.checkpoint(session)
        if cp is None:
            click.echo("nothing new to checkpoint")
        else:
            click.echo(f"checkpoint over {cp.tree_size} entries: root {cp.root}")


@audit.command("log")
@click.option("--limit", default=20, show_default=True)
@click.option("--action", help="Only entries with this action (e.g. dataset.register).")
@click.option("--subject", help="Only entries about this subject (e.g. dataset:people).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def audit_log(ctx: Context, limit: int, action: str | None, subject: str | None, fmt: str) -> None:
    """Show the newest ledger entries."""
    from sqlalchemy import select

    from hub.models import LedgerEntry

    p = ctx.platform
    query = select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(limit)
    if action:
        query = query.where(LedgerEntry.action == action)
    if subject:
        query = query.where(LedgerEntry.subject == subject)
    with p.db.session() as session:
        rows = [
            {
                "seq": e.seq,
                "time": e.time,
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "payload": json.loads(e.payload),
                "hash": e.hash,
            }
            for e in session.scalars(query)
        ]
    rows.reverse()
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
    p = ctx.platform
    with p.db.session() as session:
        proof = p.ledger.proof(session, seq)
    text = json.dumps(proof, ensure_ascii=False, indent=2)
    if out_path:
        tmp = out_path.with_suffix(out_path.suffix + ".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(out_path)
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
    """Print the platform's public key (PEM) for offline proof checking."""
    from hub.keys import public_pem

    pub = ctx.platform.ledger.public_key
    assert pub is not None
    click.echo(public_pem(pub), nl=False)


# --- users and projects -------------------------------------------------------------------


def _directory(ctx: Context) -> Any:
    from hub.identity import Directory

    return Directory(ctx.platform)


def _password(password_file: Path | None, generate: bool) -> str | None:
    if password_file is not None:
        text = password_file.read_text().strip()
        if len(text) < 8:
            raise TrustlabError(f"the password in {password_file} is shorter than 8 characters")
        return text
    if generate:
        import secrets

        return secrets.token_urlsafe(12)
    return None


@cli.group("user")
def user() -> None:
    """Platform users and their roles (developer, provider --org, operator, auditor, admin)."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="Role; repeat for several.")
@click.option("--org", help="Organisation of a provider reviewer (the data owner).")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path, exists=True),
    help="Read the password from this file (default: generate and print one).",
)
@click.option("--no-login", is_flag=True, help="No password (identity from OIDC).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def user_add(
    ctx: Context,
    name: str,
    roles: tuple[str, ...],
    org: str | None,
    password_file: Path | None,
    no_login: bool,
    fmt: str,
) -> None:
    """Add a user with one or more roles; prints a generated password once."""
    from hub.identity import Role

    password = None if no_login else _password(password_file, generate=True)
    parsed = [Role(r, org if r == "provider" else None) for r in roles]
    if org and "provider" not in roles:
        raise TrustlabError("--org applies to the provider role only")
    info = _directory(ctx).add_user(name, parsed, password, ctx.platform.settings.actor)
    if fmt == "json":
        emit_json({**info, "password": password if password_file is None else None})
        return
    click.echo(f"user {name}: roles {', '.join(info['roles'])}")
    if password and password_file is None:
        click.echo(f"password: {password}  (shown once; change with `trustlab user passwd`)")


@user.command("role")
@click.argument("name")
@click.argument("role")
@click.option("--org", help="Organisation, for the provider role.")
@pass_ctx
def user_role(ctx: Context, name: str, role: str, org: str | None) -> None:
    """Give NAME another role."""
    from hub.identity import Role

    info = _directory(ctx).add_role(name, Role(role, org), ctx.platform.settings.actor)
    click.echo(f"user {name}: roles {', '.join(info['roles'])}")


@user.command("passwd")
@click.argument("name")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path, exists=True))
@pass_ctx
def user_passwd(ctx: Context, name: str, password_file: Path | None) -> None:
    """Set NAME's password (from a file, or a generated one printed once)."""
    password = _password(password_file, generate=True)
    assert password is not None
    _directory(ctx).set_password(name, password, ctx.platform.settings.actor)
    if password_file is None:
        click.echo(f"password: {password}")


@user.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def user_list(ctx: Context, fmt: str) -> None:
    """Users, roles, hub groups and projects."""
    users = _directory(ctx).list_users()
    if fmt == "json":
        emit_json(users)
        return
    table = Table("user", "roles", "hub groups", "projects", "login")
    for u in users:
        table.add_row(
            u["name"], ", ".join(u["roles"]), ", ".join(u["groups"]), ", ".join(u["projects"]),
            "password" if u["can_login"] else "external",
        )  # fmt: skip
    out.print(table)


@cli.group("project")
def project() -> None:
    """Projects: members and dataset grants (approved by the data owner)."""


def _print_project(info: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_json(info)
        return
    click.echo(f"project {info['name']}: members {', '.join(info['members']) or '-'}")
    for g in info["grants"]:
        decided = f" by {g['decided_by']}" if g["decided_by"] else ""
        click.echo(f"  {g['dataset']} ({g['kind']}, owner {g['owner']}): {g['status']}{decided}")


@project.command("create")
@click.argument("name")
@click.option("--description", default="")
@click.option("--member", "members", multiple=True, help="A member; repeat for several.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def project_create(
    ctx: Context, name: str, description: str, members: tuple[str, ...], fmt: str
) -> None:
    """Create a project."""
    info = _directory(ctx).create_project(
        name, description, list(members), ctx.platform.settings.actor
    )
    _print_project(info, fmt)


@project.command("add-member")
@click.argument("name")
@click.argument("user_name", metavar="USER")
@pass_ctx
def project_add_member(ctx: Context, name: str, user_name: str) -> None:
    """Add USER to project NAME."""
    _print_project(
        _directory(ctx).add_member(name, user_name, ctx.platform.settings.actor), "table"
    )


@project.command("request")
@click.argument("name")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--user", "user_name", required=True, help="The requesting member.")
@pass_ctx
def project_request(ctx: Context, name: str, dataset_name: str, user_name: str) -> None:
    """A member requests DATASET for project NAME (its owner decides)."""
    _print_project(_directory(ctx).request_grant(name, dataset_name, user_name), "table")


@project.command("approve")
@click.argument("name")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--user", "user_name", required=True, help="A provider reviewer of the owner.")
@pass_ctx
def project_approve(ctx: Context, name: str, dataset_name: str, user_name: str) -> None:
    """The data owner's reviewer approves the requested grant."""
    _print_project(_directory(ctx).decide_grant(name, dataset_name, user_name, True, None), "table")


@project.command("reject")
@click.argument("name")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--user", "user_name", required=True, help="A provider reviewer of the owner.")
@click.option("--reason", required=True)
@pass_ctx
def project_reject(ctx: Context, name: str, dataset_name: str, user_name: str, reason: str) -> None:
    """The data owner's reviewer rejects the requested grant, with a reason."""
    _print_project(
        _directory(ctx).decide_grant(name, dataset_name, user_name, False, reason), "table"
    )


@project.command("revoke")
@click.argument("name")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--user", "user_name", required=True, help="A provider reviewer of the owner.")
@click.option("--reason", required=True)
@pass_ctx
def project_revoke(ctx: Context, name: str, dataset_name: str, user_name: str, reason: str) -> None:
    """Withdraw an approved grant (new sandboxes stop mounting it)."""
    _directory(ctx).revoke_grant(name, dataset_name, user_name, reason)
    _print_project(_directory(ctx).show_project(name), "table")


@project.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def project_show(ctx: Context, name: str, fmt: str) -> None:
    """Members and grants of a project."""
    _print_project(_directory(ctx).show_project(name), fmt)


@project.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def project_list(ctx: Context, fmt: str) -> None:
    """All projects."""
    projects = _directory(ctx).list_projects()
    if fmt == "json":
        emit_json(projects)
        return
    for info in projects:
        _print_project(info, fmt)


# --- the hub --------------------------------------------------------------------------------


@cli.group("hub")
def hub_group() -> None:
    """Run JupyterHub (proxy on TRUSTLAB_HUB_IP:TRUSTLAB_HUB_PORT) with the sandbox spawner."""


@hub_group.command("start")
@pass_ctx
def hub_start(ctx: Context) -> None:
    """Build images if needed, set up the sandbox network, start the hub in the background."""
    from hub.hubctl import Hub

    Hub(ctx.platform.settings).start(log=lambda m: click.echo(m, err=True))


@hub_group.command("stop")
@pass_ctx
def hub_stop(ctx: Context) -> None:
    """Stop the hub (its sandboxes are stopped with it)."""
    from hub.hubctl import Hub

    click.echo("stopped" if Hub(ctx.platform.settings).stop() else "not running")


@hub_group.command("status")
@pass_ctx
def hub_status(ctx: Context) -> None:
    """Is the hub running, and which sandboxes are up."""
    from hub.hubctl import Hub

    hub = Hub(ctx.platform.settings)
    pid = hub.pid()
    if pid is None or not hub.healthy():
        click.echo("JupyterHub: not running (start it with `trustlab hub start`)")
        return
    click.echo(f"JupyterHub: running at {hub.url} (pid {pid})")
    with hub.client() as client:
        for u in client.get("/users").json():
            for name, server in (u.get("servers") or {}).items():
                state = "ready" if server.get("ready") else "pending"
                click.echo(f"  {u['name']}/{name or '(default)'}: {state}")


# --- images -------------------------------------------------------------------------------


@cli.group("images")
def images() -> None:
    """Build and list the sandbox and runner images (no registry needed)."""


@images.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when the context hash matches.")
def images_build(force: bool) -> None:
    """Build the image chain (base → os → deps → runner/sandbox); cached by content hash."""
    from hub.images import ImageBuilder, docker_client
    from hub.settings import get_settings

    built = ImageBuilder(docker_client(), get_settings(), force=force).all()
    for tag, image_id in built.items():
        click.echo(f"{tag}  {image_id}")


@images.command("list")
def images_list() -> None:
    """trustlab images on this engine, with version and context-hash labels."""
    from hub.images import LABEL_HASH, LABEL_VERSION, docker_client

    table = Table("image", "id", "version", "context hash", "size")
    for image in docker_client().images.list(filters={"label": LABEL_HASH}):
        for tag in image.tags or ["<none>"]:
            table.add_row(
                tag,
                image.short_id,
                image.labels.get(LABEL_VERSION, ""),
                image.labels.get(LABEL_HASH, "")[:16],
                f"{image.attrs.get('Size', 0) / 1e6:.0f} MB",
            )
    out.print(table)


# --- entry point --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user errors print one line to stderr and exit 2 (1 for failed checks)."""
    try:
        cli.main(args=argv, prog_name="trustlab", standalone_mode=False)
    except LedgerIntegrityError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except TrustlabError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:  # usage errors, unreadable files: bad input
        exc.show()
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)


if __name__ == "__main__":
    main()
