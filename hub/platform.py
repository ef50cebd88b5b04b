"""The platform context: settings, metadata DB, ledger and plugins, initialized on first use."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from hub.db import Database
from hub.errors import ConfigError
from hub.keys import load_or_create_private_key
from hub.ledger import Ledger
from hub.plugins import plugins
from hub.settings import Settings, get_settings

__all__ = ["Platform", "plugins"]


class Platform:
    """Everything a command needs. Creating it initializes an empty ``TRUSTLAB_HOME``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    def init(self) -> None:
        """Create the state directory, migrate the DB, create the signing key; idempotent."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        if "://" not in self.settings.lake:
            from pathlib import Path

            for zone in ("raw", "samples", "products", "serving"):
                Path(self.settings.zone(zone)).mkdir(parents=True, exist_ok=True)
        _ = self.db
        _ = self.ledger
        from hub.contracts import ledger_migrated

        ledger_migrated(self)  # grants the 0004 migration made contracts: ledgered once

    @cached_property
    def db(self) -> Database:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        return Database(self.settings.metadata_url)

    @cached_property
    def ledger(self) -> Ledger:
        key = load_or_create_private_key(self.settings.ledger_key)
        # No session here: the first append checks the algorithm in its own transaction
        # (opening a second session inside a caller's write transaction deadlocks SQLite).
        return Ledger(
            self.settings.hash_algorithm,
            private_key=key,
            checkpoint_interval=self.settings.ledger_checkpoint_interval,
        )

    @cached_property
    def classifier(self) -> Any:
        found = plugins("trustlab.classifiers")
        name = self.settings.classifier
        if name not in found:
            raise ConfigError(
                f"no classifier named {name!r} (TRUSTLAB_CLASSIFIER); installed: "
                f"{', '.join(sorted(found)) or 'none'}"
            )
        return found[name].load()()

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
