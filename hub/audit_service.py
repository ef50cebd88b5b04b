"""The cell-audit service: a JupyterHub service that writes sandbox cells to the ledger.

A sandbox's Jupyter server posts batches of executed cells here with its own hub token
(``JUPYTERHUB_API_TOKEN``). The token is checked with the hub, which says whose server it
is; the project comes from the hub-side spawn record, never from the sandbox. Records carry
an id, so a batch resent after a lost reply is recorded once.

    POST {prefix}cells  {"records": [{"id", "time", "code", "status", "execution_count",
                                      "output_bytes"}
                                     | {"kind": "transfer", "id", "time", "direction",
                                        "path", "bytes", "sha256"}]}
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal

import httpx
from fastapi import FastAPI, Header, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.hashing import digest
from hub.models import CellRecord, SandboxSession

PREFIX = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/trustlab-audit/")
MAX_CODE = 1_000_000
_SERVER_SCOPE = re.compile(r"^(?:access:)?servers!server=([^/]+)/(.*)$")


class Cell(BaseModel):
    id: str = Field(min_length=1, max_length=100)
    time: str = Field(max_length=40)
    code: str = Field(max_length=MAX_CODE)
    status: str = Field(max_length=20)
    execution_count: int | None = None
    output_bytes: int = Field(ge=0)


class Transfer(BaseModel):
    """A file transfer the sandbox's server saw (``sandbox.transfers``)."""

    kind: Literal["transfer"]
    id: str = Field(min_length=1, max_length=100)
    time: str = Field(max_length=40)
    direction: Literal["download", "upload", "download_refused"]
    path: str = Field(max_length=1000)
    bytes: int | None = Field(None, ge=0)
    sha256: str | None = Field(None, max_length=64)


TRANSFER_ACTIONS = {"download": "sandbox.download", "upload": "sandbox.upload",
                    "download_refused": "sandbox.download.refused"}  # fmt: skip


class Batch(BaseModel):
    records: list[Cell | Transfer] = Field(max_length=500)


def server_names(identity: dict[str, Any]) -> set[str]:
    """Server names a token may act for, from its ``access:servers!server=user/name`` scopes."""
    names = set()
    for scope in identity.get("scopes", []):
        match = _SERVER_SCOPE.match(scope)
        if match and match.group(1) == identity.get("name"):
            names.add(match.group(2))
    return names


def create_app(platform=None, hub_api: str | None = None, transport=None) -> FastAPI:
    """The service app; ``transport`` lets tests stand in for the hub's API."""
    app = FastAPI(title="trustlab cell audit", docs_url=None, redoc_url=None)
    hub_api = hub_api or os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")

    def get_platform():
        nonlocal platform
        if platform is None:
            from hub.spawner import platform as hub_platform

            platform = hub_platform()
        return platform

    async def identify(authorization: str | None) -> dict[str, Any]:
        if not authorization or not authorization.lower().startswith(("token ", "bearer ")):
            raise HTTPException(401, "send the server's hub token: Authorization: token …")
        async with httpx.AsyncClient(timeout=10, transport=transport) as client:
            resp = await client.get(f"{hub_api}/user", headers={"Authorization": authorization})
        if resp.status_code != 200:
            raise HTTPException(403, "the hub does not accept this token")
        identity = resp.json()
        if identity.get("kind") != "user":
            raise HTTPException(403, "only a user's server token may report cells")
        return identity

    @app.get(PREFIX + "health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(PREFIX + "cells")
    async def cells(batch: Batch, authorization: str | None = Header(None)) -> dict[str, int]:
        identity = await identify(authorization)
        # DB and ledger work is blocking: off the event loop
        return await run_in_threadpool(record, identity, batch)

    def record(identity: dict[str, Any], batch: Batch) -> dict[str, int]:
        user, servers = identity["name"], server_names(identity)
        p = get_platform()
        recorded = duplicates = 0
        with p.db.session() as session:
            row = session.scalars(
                select(SandboxSession)
                .where(SandboxSession.user == user, SandboxSession.stopped_at.is_(None))
                .order_by(SandboxSession.id.desc())
            ).all()
            row = [r for r in row if r.server_name in servers]
            if not row:
                raise HTTPException(409, f"no running sandbox of {user} for this token")
            sandbox = row[0]
            for cell in batch.records:
                record_id = f"{sandbox.id}:{cell.id}"
                if session.scalar(select(CellRecord).where(CellRecord.record_id == record_id)):
                    duplicates += 1
                    continue
                if isinstance(cell, Transfer):
                    entry = p.ledger.append(
                        session, user, TRANSFER_ACTIONS[cell.direction],
                        f"project:{sandbox.project}",
                        {"session": sandbox.id, "server": sandbox.server_name,
                         "time": cell.time, "path": cell.path, "bytes": cell.bytes,
                         "sha256": cell.sha256},
                    )  # fmt: skip
                    session.add(CellRecord(record_id=record_id, session_id=sandbox.id,
                                           ledger_seq=entry.seq))  # fmt: skip
                    session.flush()
                    recorded += 1
                    continue
                entry = p.ledger.append(
                    session,
                    user,
                    "sandbox.cell",
                    f"project:{sandbox.project}",
                    {
                        "session": sandbox.id,
                        "server": sandbox.server_name,
                        "profile": sandbox.profile,
                        "time": cell.time,
                        "code": cell.code,
                        "code_hash": digest(p.settings.hash_algorithm, cell.code.encode()).hex(),
                        "status": cell.status,
                        "execution_count": cell.execution_count,
                        "output_bytes": cell.output_bytes,
                    },
                )
                session.add(
                    CellRecord(record_id=record_id, session_id=sandbox.id, ledger_seq=entry.seq)
                )
                session.flush()
                recorded += 1
        return {"recorded": recorded, "duplicates": duplicates}

    return app


def main() -> None:
    from urllib.parse import urlparse

    import uvicorn

    from hub.orphan import exit_with_parent
    from hub.sealer import Sealer
    from hub.spawner import platform

    exit_with_parent()
    p = platform()
    Sealer(p, p.settings.ledger_checkpoint_minutes).start()  # the hub's checkpoint timer
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8101"))
    uvicorn.run(create_app(p), host=url.hostname or "127.0.0.1", port=url.port or 8101,
                log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
