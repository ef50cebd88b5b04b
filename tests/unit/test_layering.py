"""The hub imports no feature package; features reach it only through entry points."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FEATURES = {"sandbox", "pipelines", "apis", "labeling"}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_hub_imports_no_feature_package() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FEATURES)
        for path in (ROOT / "hub").rglob("*.py")
        if imported_packages(path) & FEATURES
    }
    assert offenders == {}


def _imports_from(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from module import name`` in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def test_packages_import_only_public_names_of_each_other() -> None:
    """No package reaches into another's private names (``from hub.x import _y``)."""
    offenders = []
    for package in ("hub", *FEATURES):
        for path in (ROOT / package).rglob("*.py"):
            for module, name in _imports_from(path):
                top = module.split(".")[0]
                if top != package and top in {"hub", *FEATURES} and name.startswith("_"):
                    offenders.append(f"{path.relative_to(ROOT)}: {module}.{name}")
    assert offenders == []


def test_feature_cli_commands_use_the_cli_sdk_module() -> None:
    """Feature packages' commands import ``hub.commands`` (the CLI SDK), never ``hub.cli``."""
    allowed: set[tuple[str, str]] = set()
    offenders = [
        f"{path.relative_to(ROOT)}: {module}.{name}"
        for package in FEATURES
        for path in (ROOT / package).rglob("*.py")
        for module, name in _imports_from(path)
        if module == "hub.cli" and (module, name) not in allowed
    ]
    assert offenders == []


def test_no_command_takes_the_acting_person_as_an_option() -> None:
    """Identity comes from the token: no option of any command (the hub's and every plugin's)
    names who acts."""
    import click

    from hub.cli import cli

    ctx = click.Context(cli)
    forbidden = {"--user", "--actor", "--as-user", "--username-of", "--on-behalf-of"}
    found = []

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            hits = forbidden & set(getattr(param, "opts", []))
            if hits and path != "trustlab login":
                found.append(f"{path}: {sorted(hits)}")
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub, f"{path} {name}")

    walk(cli, "trustlab")
    assert found == []
    assert len(list(cli.list_commands(ctx))) > 8  # the plugins' groups are there too


def test_console_redirects_stay_on_the_console() -> None:
    from starlette.requests import Request

    from hub.console import PREFIX, same_origin

    request = Request({"type": "http", "method": "GET", "path": PREFIX, "query_string": b"",
                       "headers": [(b"host", b"hub.example:8000")], "scheme": "http",
                       "server": ("hub.example", 8000)})  # fmt: skip
    ok = f"http://hub.example:8000{PREFIX}reviews/abc?x=1"
    assert same_origin(request, ok) == f"{PREFIX}reviews/abc?x=1"
    assert same_origin(request, f"{PREFIX}reviews") == f"{PREFIX}reviews"
    for bad in (
        f"http://evil.example{PREFIX}reviews",  # another origin that contains the prefix
        f"https://evil.example/?next={PREFIX}",
        f"//evil.example{PREFIX}",
        "/hub/admin",
        f"javascript:{PREFIX}",
        None,
    ):
        assert same_origin(request, bad) == PREFIX, bad


def test_features_write_hub_tables_only_through_hub_methods() -> None:
    """Catalog and ledger rows are made by the hub (``hub.derived``, ``Catalog``,
    ``Ledger.append``), never constructed by a feature package."""
    hub_tables = {"Dataset", "DatasetVersion", "ColumnClass", "Organisation", "LedgerEntry",
                  "Checkpoint", "User", "UserRole", "Project", "ProjectMember", "Grant"}  # fmt: skip
    offenders = []
    for package in FEATURES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in hub_tables):  # fmt: skip
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.id}(…)")
    assert offenders == []
