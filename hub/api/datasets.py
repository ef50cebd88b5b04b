"""Catalog routes: browse datasets; register, refresh, classify and confirm them.

Registering or refreshing a source: an operator, an admin, or a provider reviewer of the
owning organisation. Classifying and confirming: a provider reviewer of the owner only (the
owner decides what its data is). Reading the catalog: any signed-in user (it holds no
values, only names, schemas, classifications and hashes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from hub.api.deps import Caller, CallerDep, PlatformDep
from hub.catalog import Catalog, Registration
from hub.identity import PermissionDenied
from hub.platform import Platform

router = APIRouter(prefix="/datasets", tags=["datasets"])


class NewDataset(BaseModel):
    source: str = Field(description="A file or folder on the platform host, or a SQL URL")
    name: str
    owner: str = Field(description="The owning organisation (the data provider)")
    table: str | None = None
    format: str | None = Field(None, description="csv, parquet or sql (default: detected)")
    encoding: str | None = None
    delimiter: str | None = None


class ColumnClass(BaseModel):
    pii: str | None = None
    level: str | None = None
    quasi_identifier: bool | None = None


def owner_of(p: Platform, name: str) -> str:
    return str(Catalog(p).show(name)["owner"])


def require_owner_reviewer(who: Caller, owner: str, also: tuple[str, ...] = ()) -> None:
    """A provider reviewer of ``owner`` (or one of the ``also`` roles)."""
    if who.has("provider", owner) or any(who.has(r) for r in also):
        return
    extra = f" (or {' / '.join(also)})" if also else ""
    raise PermissionDenied(
        f"{who.name!r} is not a provider reviewer of {owner!r}{extra}; only the data owner "
        "decides this"
    )


@router.get("")
def list_datasets(who: CallerDep, p: PlatformDep) -> list[dict[str, Any]]:
    return Catalog(p).list()


@router.get("/{name}")
def show_dataset(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return Catalog(p).show(name)


@router.get("/{name}/lineage")
def lineage(name: str, who: CallerDep, p: PlatformDep, depth: int = 4) -> dict[str, Any]:
    """Where the dataset came from and what was made from it (``depth`` steps each way)."""
    from hub.lineage import graph

    with p.db.session() as session:
        return graph(session, name, max(1, min(depth, 10)))


def allowed_source(p: Platform, source: str) -> None:
    """Refuse a source the platform should not read for a person: a file outside the
    ingest folders (the API reads with the platform's own rights), or a database on a host
    not configured for sources."""
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    s = p.settings
    if "://" in source:
        try:
            host = make_url(source).host
        except ArgumentError:
            return  # not a URL the catalog can open: it says so itself
        if host and host not in s.source_hosts:
            raise PermissionDenied(
                f"SQL sources are read only from the hosts in TRUSTLAB_SOURCE_HOSTS "
                f"({', '.join(s.source_hosts)}); {host!r} is not one"
            )
        return
    roots = [Path(s.zone("raw")), s.home / "ingest", *s.source_roots]
    path = Path(source).resolve()
    if not any(path.is_relative_to(Path(r).resolve()) for r in roots):
        raise PermissionDenied(
            f"{source} is outside the folders sources are registered from; put it under "
            f"{s.home / 'ingest'} (or a folder of TRUSTLAB_SOURCE_ROOTS)"
        )


@router.post("", status_code=201)
def register(body: NewDataset, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    require_owner_reviewer(who, body.owner, also=("operator", "admin"))
    allowed_source(p, body.source)
    reg = Registration(body.source, body.table, body.format, body.encoding, body.delimiter)
    return Catalog(p, who.name).register(reg, body.name, body.owner)


UPLOAD_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet"}


@router.post("/upload", status_code=201)
async def upload(
    request: Request,
    who: CallerDep,
    p: PlatformDep,
    name: str,
    owner: str,
    filename: str,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Register an uploaded file (the request body: CSV or Parquet) as a source, with the
    same checks as a file on the host. The file is kept under HOME/ingest/uploads; if the
    registration fails, nothing is kept."""
    import shutil
    import uuid
    from pathlib import Path

    from fastapi.concurrency import run_in_threadpool

    from hub.errors import TrustlabError

    require_owner_reviewer(who, owner, also=("operator", "admin"))
    base = Path(filename.replace("\\", "/")).name
    suffix = Path(base).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES or not base.strip(". "):
        raise TrustlabError(f"upload a .csv, .tsv, .txt or .parquet file, not {base!r}")
    limit = p.settings.upload_max_mb * 1024 * 1024
    folder = p.settings.home / "ingest" / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, mode=0o700)
    target = folder / base
    try:
        size = 0
        with target.open("wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TrustlabError(f"the file is larger than {p.settings.upload_max_mb} "
                                        "MiB (setting upload_max_mb)")  # fmt: skip
                fh.write(chunk)
        if size == 0:
            raise TrustlabError("the uploaded file is empty")
        reg = Registration(str(target), None, format or UPLOAD_SUFFIXES[suffix], encoding,
                           delimiter)  # fmt: skip
        return await run_in_threadpool(Catalog(p, who.name).register, reg, name, owner)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@router.post("/{name}/refresh")
def refresh(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    require_owner_reviewer(who, owner_of(p, name), also=("operator", "admin"))
    return Catalog(p, who.name).refresh(name)


@router.post("/{name}/columns/{column}")
def classify(
    name: str, column: str, body: ColumnClass, who: CallerDep, p: PlatformDep
) -> dict[str, Any]:
    require_owner_reviewer(who, owner_of(p, name))
    return Catalog(p, who.name).classify(name, column, body.pii, body.level,
                                         body.quasi_identifier)  # fmt: skip


@router.post("/{name}/confirm")
def confirm(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    require_owner_reviewer(who, owner_of(p, name))
    return Catalog(p, who.name).confirm(name)
