"""Entry point groups through which feature packages plug into the hub."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any


def plugins(group: str) -> dict[str, Any]:
    """Entry points of ``group`` by name (loaded lazily by the caller)."""
    return {ep.name: ep for ep in entry_points(group=group)}
