"""The ``ctx`` a pipeline's ``run(ctx)`` receives: all of its I/O goes through here.

    def run(ctx):
        people = ctx.read("people")               # Spark DataFrame (a sample in dev)
        ctx.log.info("min group %s", ctx.params["min_group"])
        ctx.write("district_income", people.groupBy("district").count())

Reads and writes are limited to the datasets the manifest declares; where the data comes
from and goes to (samples and a scratch folder in dev, the raw zone and a staging area in
production) is the runner's business, so the code is the same in both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from hub.errors import TrustlabError
from pipelines.manifest import Manifest


class UndeclaredDataset(TrustlabError):
    """The code read or wrote a dataset its manifest does not declare."""


class Context:
    def __init__(
        self,
        manifest: Manifest,
        spark: Any,
        reader: Callable[[str], Any],
        writer: Callable[[str, Any], None],
        log: logging.Logger | None = None,
    ) -> None:
        self._manifest = manifest
        self._reader = reader
        self._writer = writer
        self._written: set[str] = set()
        self.spark = spark
        self.params: Mapping[str, Any] = MappingProxyType(dict(manifest.params))
        self.log = log or logging.getLogger(f"pipeline.{manifest.name}")
        self.reads: dict[str, Any] = {}

    def read(self, name: str) -> Any:
        """The input dataset ``name`` as a Spark DataFrame."""
        if name not in self._manifest.inputs:
            raise UndeclaredDataset(
                f"ctx.read({name!r}): not an input of {self._manifest.name}; declared inputs: "
                f"{', '.join(self._manifest.inputs)} (add it to pipeline.toml)"
            )
        if name not in self.reads:
            self.reads[name] = self._reader(name)
        return self.reads[name]

    def write(self, name: str, df: Any) -> None:
        """Publish ``df`` as output ``name`` (once per run)."""
        if name not in self._manifest.outputs:
            raise UndeclaredDataset(
                f"ctx.write({name!r}): not an output of {self._manifest.name}; declared "
                f"outputs: {', '.join(self._manifest.outputs)}"
            )
        if name in self._written:
            raise TrustlabError(f"ctx.write({name!r}) called twice; write each output once")
        if not hasattr(df, "schema") or not hasattr(df, "write"):
            raise TrustlabError(f"ctx.write({name!r}, …) needs a Spark DataFrame")
        self._writer(name, df)
        self._written.add(name)

    @property
    def missing_outputs(self) -> list[str]:
        return [o for o in self._manifest.outputs if o not in self._written]
