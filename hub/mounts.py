"""What a sandbox may mount: per contract in force, the allowed columns of each object.

dev profile: the latest published *sample* of each source a contract in force allows for
``sandbox`` use; prod profile: the latest version of each such *product*. Never a source's
own location. When a contract allows only some columns, the mount is a **column view**: a
folder holding only those columns of the sample (``views/<version-hash16>-<key16>/`` under
the sample's own folder in its zone), made once per (version, columns) and reused. The
full sample is never mounted beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.errors import TrustlabError
from hub.identity import PermissionDenied
from hub.models import Dataset, DatasetVersion, Project, User
from hub.platform import Platform
from hub.terms import Terms, in_force_documents, now, terms


def column_view(location: Path, version_hash: str, columns: tuple[str, ...]) -> Path:
    """A folder next to ``location`` with only ``columns`` of its Parquet parts."""
    import pyarrow.parquet as pq

    key = hashlib.sha256(json.dumps([version_hash, list(columns)]).encode()).hexdigest()[:16]
    target = location.parent / "views" / f"{version_hash[:16]}-{key}"
    if target.exists():  # complete: it appears only by the rename below
        return target
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        for i, part in enumerate(sorted(location.glob("*.parquet"))):
            present = set(pq.read_schema(part).names)  # a policy may have dropped some
            table = pq.read_table(part, columns=[c for c in columns if c in present])
            pq.write_table(table, staging / f"part-{i:05d}.parquet", compression="zstd")
        for path in [staging, *staging.iterdir()]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        try:
            staging.rename(target)
        except OSError:  # made meanwhile by another spawn: use theirs
            if not target.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _mount(t: Terms, catalog_name: str, version: DatasetVersion) -> dict[str, Any]:
    schema = json.loads(version.schema_json)
    location = Path(version.location or "")
    if not t.all_columns:
        location = column_view(location, version.content_hash, t.columns)
        schema = [c for c in schema if c["name"] in t.columns]
    return {
        "dataset": t.dataset,
        "catalog_name": catalog_name,
        "version": version.number,
        "hash": version.content_hash,
        "location": str(location),
        "schema": schema,
        "columns": list(t.columns),
        "all_columns": t.all_columns,
        "contracts": list(t.contracts),
    }


def sample_of(session: Any, dataset: Dataset) -> tuple[str, DatasetVersion] | None:
    sample = session.scalar(
        select(Dataset).where(Dataset.sample_of_id == dataset.id, Dataset.kind == "sample")
    )
    version = sample.latest if sample else None
    if sample is None or version is None or not version.location:
        return None
    return sample.name, version


def sandbox_mounts(platform: Platform, user: str, project: str, profile: str) -> list[dict]:
    """The mounts of a ``profile`` sandbox of ``user`` in ``project``, or a refusal."""
    if profile not in ("dev", "prod"):
        raise TrustlabError(f"unknown profile {profile!r}; choose dev or prod")
    mounts: list[dict[str, Any]] = []
    with platform.db.session() as session:
        p = session.scalar(select(Project).where(Project.name == project))
        u = session.scalar(select(User).where(User.name == user))
        if p is None or u is None or not u.active or not any(m.user_id == u.id for m in p.members):
            raise PermissionDenied(f"{user!r} is not a member of project {project!r}")
        for name in contracted(session, project, "sandbox"):
            t = terms(session, project, name, "sandbox")
            ds = session.scalar(select(Dataset).where(Dataset.name == name))
            if t is None or ds is None or not t.columns:
                continue
            if profile == "dev" and ds.kind == "source":
                found = sample_of(session, ds)
                if found is not None:
                    mounts.append(_mount(t, found[0], found[1]))
            elif profile == "prod" and ds.kind == "product" and ds.latest and ds.latest.location:
                mounts.append(_mount(t, ds.name, ds.latest))
    if not mounts:
        what = "published samples" if profile == "dev" else "approved products"
        raise PermissionDenied(
            f"project {project!r} has no contract in force for sandbox use of {what}; ask "
            f"with `trustlab contract request {project} DATASET --mode sandbox`"
        )
    return sorted(mounts, key=lambda m: m["dataset"])


def contracted(session: Any, party: str, mode: str) -> list[str]:
    """Names of the datasets some contract in force of ``party`` allows for ``mode``."""
    names = set()
    for _, text in in_force_documents(session, party, now()):
        names |= {o["dataset"] for o in json.loads(text)["objects"] if mode in o["modes"]}
    return sorted(names)
