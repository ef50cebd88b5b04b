"""The ``trustlab`` command line.

The host's own commands live here (config, init, up, hub, images); every other group is
registered through the ``trustlab.cli`` entry point group — the hub's own (dataset, audit,
user, project, login, logout, whoami) exactly as feature packages add theirs — so the hub
imports none of the features.
Errors a user can cause print one line and exit 2.
"""

from __future__ import annotations

import sys

import click
from rich.table import Table

from hub import __version__
from hub.commands import Context, emit_json, out, pass_ctx, print_catalog
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
