"""Alembic migrations and the SQLAlchemy models describe the same schema, on every lane."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.db import SCHEMA_HEAD, alembic_config
from hub.models import Base
from hub.platform import Platform


def test_schema_head_constant_matches_alembic(platform: Platform) -> None:
    script = ScriptDirectory.from_config(alembic_config(platform.db.engine))
    assert script.get_current_head() == SCHEMA_HEAD


def test_migrated_schema_matches_models(platform: Platform) -> None:
    with platform.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
