"""Signs ledger checkpoints on a timer, so no entry rests on the hash chain alone for long.

Decisions that matter most (approvals, deployments, published runs) are sealed the moment
they are appended (``Ledger.append(..., seal=True)``); everything else is covered by the
next checkpoint, which this thread signs every ``TRUSTLAB_LEDGER_CHECKPOINT_MINUTES`` while
the hub runs. It signs nothing when no entry is uncovered.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class Sealer(threading.Thread):
    """A daemon thread: ``checkpoint()`` every ``minutes``; ``stop()`` ends it."""

    def __init__(self, platform: Any, minutes: float) -> None:
        super().__init__(name="trustlab-ledger-sealer", daemon=True)
        self.platform = platform
        self.interval = minutes * 60
        self._stopped = threading.Event()

    def seal_once(self) -> int | None:
        """Sign a checkpoint over every entry so far; its tree size, or None (nothing new)."""
        with self.platform.db.session() as session:
            cp = self.platform.ledger.checkpoint(session)
            return cp.tree_size if cp is not None else None

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                size = self.seal_once()
            except Exception:  # keep sealing later; the hub must not lose its timer
                log.exception("signing the scheduled ledger checkpoint failed")
                continue
            if size is not None:
                log.info("signed a ledger checkpoint over %d entries", size)

    def stop(self) -> None:
        self._stopped.set()
