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
