"""``trustlab user|project|login|logout|whoami``: people, projects, tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hub.commands import Context, emit_json, out, pass_ctx
from hub.errors import TrustlabError

# --- users and projects -------------------------------------------------------------------


def _password(password_file: Path | None) -> str | None:
    if password_file is None:
        return None
    text = password_file.read_text().strip()
    if len(text) < 8:
        raise TrustlabError(f"the password in {password_file} is shorter than 8 characters")
    return text


@click.group("user")
def user() -> None:
    """Platform users and their roles (developer, provider --org, operator, auditor, admin,
    annotator).

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


@click.group("project")
def project() -> None:
    """Projects: members, and the contracts that let them use data (`trustlab contract`)."""


def _print_project(info: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_json(info)
        return
    click.echo(f"project {info['name']}: members {', '.join(info['members']) or '-'}")
    for c in info["contracts"]:
        until = f" until {c['valid_until']}" if c["valid_until"] else ""
        force = "in force" if c["in_force"] else "not in force"
        click.echo(f"  contract {c['ref']} ({', '.join(c['datasets']) or 'no version yet'}): "
                   f"{c['state']}, {force}{until}")  # fmt: skip


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


@project.command("show")
@click.argument("name")
@FMT
@pass_ctx
def project_show(ctx: Context, name: str, fmt: str) -> None:
    """Members and contracts of a project."""
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


@click.group("org")
def org() -> None:
    """Organisations: data providers, consumers (dataset owners appear on registration)."""


@org.command("create")
@click.argument("name")
@pass_ctx
def org_create(ctx: Context, name: str) -> None:
    """An organisation with no dataset yet, e.g. a registered API's provider (operators)."""
    ctx.api.post("/organisations", {"name": name})
    click.echo(f"organisation {name} created; add its reviewers with "
               f"`trustlab user role USER provider --org {name}`")  # fmt: skip


@org.command("list")
@FMT
@pass_ctx
def org_list(ctx: Context, fmt: str) -> None:
    """Every organisation."""
    orgs = ctx.api.get("/organisations")
    if fmt == "json":
        emit_json(orgs)
        return
    for o in orgs:
        click.echo(o["name"])


# --- login -------------------------------------------------------------------------------


@click.command("login")
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


@click.command("logout")
def logout_cmd() -> None:
    """Forget the stored token (and revoke it at the hub when it can be reached)."""
    from hub.login import logout

    click.echo("logged out" if logout() else "not logged in")


@click.command("whoami")
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
