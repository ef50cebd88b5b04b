"""In-sandbox data access: a dataset name in, its latest published *sample* out.

    from sandbox.runtime import load
    people = load("people")                  # Spark DataFrame of the masked sample
    people = load("people", engine="pandas")  # pandas DataFrame

Two resolvers, chosen by environment:

- inside a sandbox container the spawner mounts the contracted samples read-only and a
  manifest (``TRUSTLAB_SAMPLES_MANIFEST``, JSON ``{"datasets": {name: {"path", "hash",
  "version"}}}``) — there is no metadata DB in a sandbox;
- elsewhere (CLI, dry runs) the catalog is asked for the newest version of
  ``<name>.sample``.

Either way only samples can come back: the catalog resolver refuses anything whose kind
is not ``sample``, and the manifest lists only what the spawner mounted: samples in a
``dev`` sandbox, the project's approved products in a ``prod`` one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hub.errors import NotFound

MANIFEST_ENV = "TRUSTLAB_SAMPLES_MANIFEST"


@dataclass(frozen=True)
class ResolvedSample:
    dataset: str
    version: int
    content_hash: str
    path: str


class SampleResolver(Protocol):
    def resolve(self, dataset: str) -> ResolvedSample: ...

    def names(self) -> list[str]: ...


class ManifestResolver:
    """Reads the manifest the spawner mounts into a sandbox."""

    def __init__(self, manifest: Path) -> None:
        try:
            self.entries: dict[str, Any] = json.loads(manifest.read_text())["datasets"]
        except (OSError, ValueError, KeyError) as exc:
            raise NotFound(f"cannot read the samples manifest {manifest}: {exc}") from None
        self.base = manifest.parent

    def resolve(self, dataset: str) -> ResolvedSample:
        name = dataset.removesuffix(".sample")
        entry = self.entries.get(name)
        if entry is None:
            raise NotFound(
                f"no sample of {dataset!r} is mounted in this sandbox; mounted: "
                f"{', '.join(sorted(self.entries)) or 'none'}"
            )
        path = Path(entry["path"])
        return ResolvedSample(
            name,
            int(entry["version"]),
            entry["hash"],
            str(path if path.is_absolute() else self.base / path),
        )

    def names(self) -> list[str]:
        return sorted(self.entries)


class CatalogResolver:
    """Asks the catalog for the newest version of ``<dataset>.sample``."""

    def __init__(self, platform: Any = None) -> None:
        if platform is None:
            from hub.platform import Platform

            platform = Platform()
        self.platform = platform

    def resolve(self, dataset: str) -> ResolvedSample:
        from sandbox.builder import latest_sample

        info = latest_sample(self.platform, dataset)
        if info["kind"] != "sample":  # defence in depth: never resolve to raw data
            raise NotFound(f"{info['name']!r} is not a sample")
        latest = info["versions"][-1]
        return ResolvedSample(
            info["sample_of"], latest["number"], latest["content_hash"], latest["location"]
        )

    def names(self) -> list[str]:
        from hub.catalog import Catalog

        return sorted(
            d["name"].removesuffix(".sample")
            for d in Catalog(self.platform).list()
            if d["kind"] == "sample"
        )


def resolver(platform: Any = None) -> SampleResolver:
    manifest = os.environ.get(MANIFEST_ENV)
    if manifest:
        return ManifestResolver(Path(manifest))
    return CatalogResolver(platform)


def load(dataset: str, engine: str = "spark", spark: Any = None, platform: Any = None) -> Any:
    """The latest published sample of ``dataset`` as a Spark (default) or pandas DataFrame."""
    sample = resolver(platform).resolve(dataset)
    if engine == "pandas":
        import pandas as pd

        return pd.read_parquet(sample.path)
    if engine != "spark":
        raise ValueError("engine must be 'spark' or 'pandas'")
    if spark is None:
        from hub.settings import get_settings
        from sandbox.spark import spark_session

        spark = spark_session(get_settings())
    return spark.read.parquet(sample.path)


def available(platform: Any = None) -> list[str]:
    """Names of the datasets whose samples can be loaded here."""
    return resolver(platform).names()
