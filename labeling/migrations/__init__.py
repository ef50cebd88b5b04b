"""Labeling's Alembic branch (registered under ``trustlab.migrations``)."""

from pathlib import Path

from hub.db import MigrationSet

MIGRATIONS = MigrationSet(path=Path(__file__).parent / "versions", head="l001")
