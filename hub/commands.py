"""What a CLI command needs, for the hub's commands and feature packages' alike.

Feature packages add commands through the ``trustlab.cli`` entry points and import only
this module of the CLI: the invocation ``Context`` (the platform for host commands, the
platform API client for everything a person does), output consoles, JSON output, progress.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

from hub.platform import Platform

# Piped output (logs, CI, `make up`) is not squeezed to 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


class Context:
    """Lazily built platform shared by the commands of one invocation."""

    def __init__(self) -> None:
        self._platform: Platform | None = None
        self._api: Any = None

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

    @property
    def api(self) -> Any:
        """The platform API as the caller's token identifies them (``hub.client``)."""
        from hub.client import PlatformClient

        if self._api is None:
            self._api = PlatformClient.discover()
        return self._api


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
