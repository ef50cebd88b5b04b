"""The ``trustlab`` command line.

Hub commands live here; feature packages add theirs through the ``trustlab.cli`` entry
point group (each entry point is a click command or group), so the hub imports none of them.
Errors a user can cause print one line and exit 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub import __version__
from hub.commands import Context, emit_json, err, out, pass_ctx
from hub.errors import LedgerIntegrityError, TrustlabError
from hub.plugins import plugins


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


# --- audit --------------------------------------------------------------------------------


@cli.group("audit")
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
    else:
        click.echo(f"LEDGER TAMPERED: first bad entry {report['first_bad_seq']}", err=True)
        for problem in report["problems"]:
            click.echo(f"  {problem}", err=True)
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


# --- users and projects -------------------------------------------------------------------


def _password(password_file: Path | None) -> str | None:
    if password_file is None:
        return None
    text = password_file.read_text().strip()
    if len(text) < 8:
        raise TrustlabError(f"the password in {password_file} is shorter than 8 characters")
    return text


@cli.group("user")
def user() -> None:
    """Platform users and their roles (developer, provider --org, operator, auditor, admin).

    Admins manage users through the platform API; `user first-admin` (host only) creates
    the first one."""


def _print_user(info: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_json(info)
        return
    click.echo(f"user {info['name']}: roles {', '.join(info['roles'])}")
    if info.get("password"):
        click.echo(f"password: {info['password']}  (shown once; change with `trustlab user "
                   "passwd`)")  # fmt: skip


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
    """Add a user with one or more roles (admins); prints a generated password once."""
    body = {"name": name, "roles": list(roles), "org": org, "login": not no_login,
            "password": _password(password_file)}  # fmt: skip
    _print_user(ctx.api.post("/users", body), fmt)


@user.command("first-admin")
@click.argument("name")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path, exists=True))
@pass_ctx
def user_first_admin(ctx: Context, name: str, password_file: Path | None) -> None:
    """Host only: create the first admin of a platform that has none (then use the API)."""
    import secrets

    from hub.hubctl import Hub
    from hub.identity import HOST, Directory, Role

    directory = Directory(ctx.platform)
    if any("admin" in u["roles"] for u in directory.list_users()):
        raise TrustlabError("this platform has an admin already; admins add users with "
                            "`trustlab user add`")  # fmt: skip
    password = _password(password_file) or secrets.token_urlsafe(12)
    info = directory.add_user(name, [Role("admin")], password, HOST)
    hub = Hub(ctx.platform.settings)
    if hub.healthy():  # a running hub learns the user now (else at its next start)
        with hub.client() as client:
            client.post(f"/users/{name}")
    _print_user({**info, "password": None if password_file else password}, "table")


@user.command("role")
@click.argument("name")
@click.argument("role")
@click.option("--org", help="Organisation, for the provider role.")
@pass_ctx
def user_role(ctx: Context, name: str, role: str, org: str | None) -> None:
    """Give NAME another role (admins)."""
    _print_user(ctx.api.post(f"/users/{name}/roles", {"role": role, "org": org}), "table")


@user.command("passwd")
@click.argument("name")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path, exists=True))
@pass_ctx
def user_passwd(ctx: Context, name: str, password_file: Path | None) -> None:
    """Set NAME's password (yours, or anyone's for admins); from a file, or generated."""
    done = ctx.api.post(f"/users/{name}/password", {"password": _password(password_file)})
    if done.get("password"):
        click.echo(f"password: {done['password']}")
    else:
        click.echo(f"password of {name} set")


@user.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def user_list(ctx: Context, fmt: str) -> None:
    """Users, roles, hub groups and projects (admins, operators, auditors)."""
    users = ctx.api.get("/users")
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


FMT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")


@project.command("create")
@click.argument("name")
@click.option("--description", default="")
@click.option("--member", "members", multiple=True, help="A member; repeat for several.")
@FMT
@pass_ctx
def project_create(
    ctx: Context, name: str, description: str, members: tuple[str, ...], fmt: str
) -> None:
    """Create a project (operators, admins)."""
    body = {"name": name, "description": description, "members": list(members)}
    _print_project(ctx.api.post("/projects", body), fmt)


@project.command("add-member")
@click.argument("name")
@click.argument("member", metavar="USER")
@FMT
@pass_ctx
def project_add_member(ctx: Context, name: str, member: str, fmt: str) -> None:
    """Add USER to project NAME (operators, admins)."""
    _print_project(ctx.api.post(f"/projects/{name}/members", {"user": member}), fmt)


@project.command("request")
@click.argument("name")
@click.argument("dataset_name", metavar="DATASET")
@FMT
@pass_ctx
def project_request(ctx: Context, name: str, dataset_name: str, fmt: str) -> None:
    """Request DATASET for project NAME, as a member (its owner's reviewer decides)."""
    _print_project(ctx.api.post(f"/projects/{name}/grants", {"dataset": dataset_name}), fmt)


@project.command("approve")
@click.argument("name")
@click.argument("dataset_name", metavar="DATASET")
@FMT
@pass_ctx
def project_approve(ctx: Context, name: str, dataset_name: str, fmt: str) -> None:
    """Approve the requested grant, as a provider reviewer of the data owner."""
    _print_project(ctx.api.post(f"/projects/{name}/grants/{dataset_name}/approve"), fmt)


@project.command("reject")
@click.argument("name")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--reason", required=True)
@FMT
@pass_ctx
def project_reject(ctx: Context, name: str, dataset_name: str, reason: str, fmt: str) -> None:
    """Reject the requested grant with a reason, as a provider reviewer of the data owner."""
    path = f"/projects/{name}/grants/{dataset_name}/reject"
    _print_project(ctx.api.post(path, {"reason": reason}), fmt)


@project.command("revoke")
@click.argument("name")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--reason", required=True)
@FMT
@pass_ctx
def project_revoke(ctx: Context, name: str, dataset_name: str, reason: str, fmt: str) -> None:
    """Withdraw an approved grant (new sandboxes stop mounting it)."""
    path = f"/projects/{name}/grants/{dataset_name}/revoke"
    _print_project(ctx.api.post(path, {"reason": reason}), fmt)


@project.command("show")
@click.argument("name")
@FMT
@pass_ctx
def project_show(ctx: Context, name: str, fmt: str) -> None:
    """Members and grants of a project."""
    _print_project(ctx.api.get(f"/projects/{name}"), fmt)


@project.command("list")
@FMT
@pass_ctx
def project_list(ctx: Context, fmt: str) -> None:
    """The projects you may see."""
    projects = ctx.api.get("/projects")
    if fmt == "json":
        emit_json(projects)
        return
    for info in projects:
        _print_project(info, fmt)


# --- login -------------------------------------------------------------------------------


@cli.command("login")
@click.option("--url", help="The hub (default: this machine's, http://HUB_IP:HUB_PORT).")
@click.option("--username", help="Your hub login name (prompted when not given).")
@click.option("--token", "token_file", type=click.File("r"),
              help="Read a token created on the hub's token page from this file ('-': "
              "standard input) instead of logging in with a password.")  # fmt: skip
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 365),
              help="How long the new token is valid.")  # fmt: skip
def login_cmd(url: str | None, username: str | None, token_file: Any, days: int) -> None:
    """Log in to the platform: a hub token stored with mode 0600 for later commands."""
    from hub.login import login

    who, path = login(url, username, token_file.read().strip() if token_file else None, days)
    click.echo(f"logged in as {who['name']} ({', '.join(who['roles'])}); token in {path}")


@cli.command("logout")
def logout_cmd() -> None:
    """Forget the stored token (and revoke it at the hub when it can be reached)."""
    from hub.login import logout

    click.echo("logged out" if logout() else "not logged in")


@cli.command("whoami")
@FMT
@pass_ctx
def whoami_cmd(ctx: Context, fmt: str) -> None:
    """Who the platform API says you are, with your roles and projects."""
    me = ctx.api.whoami()
    if fmt == "json":
        emit_json(me)
        return
    click.echo(f"{me['name']}: roles {', '.join(me['roles']) or '-'}; projects "
               f"{', '.join(me['projects']) or '-'}")  # fmt: skip


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
