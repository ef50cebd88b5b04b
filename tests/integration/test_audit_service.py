"""The cell-audit service on both DB lanes, with the hub's token check stood in for."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from hub.audit_service import PREFIX, create_app
from hub.models import SandboxSession
from hub.platform import Platform

TOKENS = {
    "alice-server": {"kind": "user", "name": "alice", "scopes": ["access:servers!server=alice/"]},
    "bob-server": {"kind": "user", "name": "bob", "scopes": ["access:servers!server=bob/"]},
    "a-service": {"kind": "service", "name": "culler", "scopes": []},
}


def fake_hub(request: httpx.Request) -> httpx.Response:
    token = request.headers.get("Authorization", "").split()[-1]
    if token not in TOKENS:
        return httpx.Response(403)
    return httpx.Response(200, json=TOKENS[token])


@pytest.fixture
def client(platform: Platform) -> TestClient:
    with platform.db.session() as session:
        session.add(SandboxSession(user="alice", server_name="", project="census", profile="dev",
                                   image="img", image_id="sha256:x", mounts="[]"))  # fmt: skip
    app = create_app(platform, "http://hub/hub/api", transport=httpx.MockTransport(fake_hub))
    return TestClient(app)


def cell(i: str, code: str = "1+1") -> dict:
    return {"id": i, "time": "2026-11-28T00:00:00Z", "code": code, "status": "ok",
            "execution_count": 1, "output_bytes": 3}  # fmt: skip


def test_cells_are_ledgered_once_under_the_spawned_project(
    client: TestClient, platform: Platform
) -> None:
    url = PREFIX + "cells"
    auth = {"Authorization": "token alice-server"}
    first = client.post(url, json={"records": [cell("a"), cell("b", "print(2)")]}, headers=auth)
    assert first.json() == {"recorded": 2, "duplicates": 0}
    again = client.post(url, json={"records": [cell("b", "print(2)"), cell("c")]}, headers=auth)
    assert again.json() == {"recorded": 1, "duplicates": 1}
    from sqlalchemy import select

    from hub.models import LedgerEntry

    with platform.db.session() as session:
        entries = session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == "sandbox.cell")
        ).all()
        assert [(e.actor, e.subject) for e in entries] == [("alice", "project:census")] * 3


def test_refusals(client: TestClient) -> None:
    url = PREFIX + "cells"
    body = {"records": [cell("x")]}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers={"Authorization": "token forged"}).status_code == 403
    assert (
        client.post(url, json=body, headers={"Authorization": "token a-service"}).status_code == 403
    )
    # bob has a valid token but no running sandbox: nothing to attribute the cell to
    assert (
        client.post(url, json=body, headers={"Authorization": "token bob-server"}).status_code
        == 409
    )
    bad = {"records": [{**cell("y"), "output_bytes": -1}]}
    assert (
        client.post(url, json=bad, headers={"Authorization": "token alice-server"}).status_code
        == 422
    )


def test_transfers_are_ledgered_with_path_size_and_hash(
    client: TestClient, platform: Platform
) -> None:
    from sqlalchemy import select

    from hub.models import LedgerEntry

    def transfer(i: str, direction: str, size: int | None, digest: str | None) -> dict:
        return {"kind": "transfer", "id": i, "time": "2026-11-28T00:00:00Z",
                "direction": direction, "path": "out/table.csv", "bytes": size,
                "sha256": digest}  # fmt: skip

    records = [cell("c1"), transfer("t1", "upload", 42, "ab" * 32),
               transfer("t2", "download_refused", None, None),
               transfer("t3", "download", 42, "ab" * 32)]  # fmt: skip
    auth = {"Authorization": "token alice-server"}
    done = client.post(PREFIX + "cells", json={"records": records}, headers=auth)
    assert done.json() == {"recorded": 4, "duplicates": 0}
    assert client.post(PREFIX + "cells", json={"records": records[1:2]},
                       headers=auth).json() == {"recorded": 0, "duplicates": 1}  # fmt: skip
    bad = {**transfer("t4", "teleport", 1, None)}
    assert client.post(PREFIX + "cells", json={"records": [bad]}, headers=auth).status_code == 422
    with platform.db.session() as session:
        entries = session.scalars(select(LedgerEntry).where(
            LedgerEntry.action.like("sandbox.%")).order_by(LedgerEntry.seq)).all()  # fmt: skip
        got = [(e.action, e.actor, e.subject) for e in entries]
        upload = next(e for e in entries if e.action == "sandbox.upload")
    assert got == [("sandbox.cell", "alice", "project:census"),
                   ("sandbox.upload", "alice", "project:census"),
                   ("sandbox.download.refused", "alice", "project:census"),
                   ("sandbox.download", "alice", "project:census")]  # fmt: skip
    assert '"bytes":42' in upload.payload and "ab" * 32 in upload.payload
