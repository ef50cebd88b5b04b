"""Alembic migrations and the SQLAlchemy models describe the same schema, on every lane."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import apis.models  # noqa: F401
import pipelines.models  # noqa: F401
import sandbox.models  # noqa: F401 - feature models share the hub's metadata
from hub.db import SCHEMA_HEAD, alembic_config, migration_sets
from hub.models import Base
from hub.platform import Platform


def test_schema_head_constant_matches_alembic(platform: Platform) -> None:
    script = ScriptDirectory.from_config(alembic_config(platform.db.engine))
    assert set(script.get_heads()) == {SCHEMA_HEAD} | {m.head for m in migration_sets()}


def test_migrated_schema_matches_models(platform: Platform) -> None:
    with platform.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
