"""File transfers at a real Jupyter server configured as the sandbox image configures it:
downloads refused (off) or recorded (on), uploads recorded, viewing left alone."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CONFIG = Path(__file__).resolve().parents[2] / "images" / "sandbox" / "jupyter_server_config.py"
TOKEN = "transfers-test-token"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["off", "on"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    root, spool = tmp_path / "home", tmp_path / "spool"
    root.mkdir()
    (root / "table.csv").write_text("street,members\nJiefang Rd,3\n")
    (root / "book.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                 "nbformat_minor": 5}))  # fmt: skip
    port = _port()
    env = {**os.environ, "TRUSTLAB_DOWNLOADS": "1" if request.param == "on" else "0",
           "TRUSTLAB_AUDIT_SPOOL": str(spool), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}  # fmt: skip
    env.pop("TRUSTLAB_AUDIT_URL", None)  # records stay in the spool, for the test to read
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--config={CONFIG}", f"--port={port}",
         "--ip=127.0.0.1", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}",
         "--ServerApp.open_browser=False", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"Authorization": f"token {TOKEN}"})  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/api/status").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "no server")
            time.sleep(0.2)
        client.downloads = request.param == "on"  # type: ignore[attr-defined]
        yield client, spool
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=30)


def records(spool: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(spool.glob("*.json"))]


def test_downloads_are_refused_or_recorded_and_uploads_recorded(
    server: tuple[httpx.Client, Path],
) -> None:
    client, spool = server
    on = client.downloads  # type: ignore[attr-defined]
    got = client.get("/files/table.csv", params={"download": "1"})
    export = client.get("/nbconvert/html/book.ipynb", params={"download": "true"})
    if on:
        assert got.status_code == 200 and got.text.startswith("street,members")
    else:
        assert got.status_code == 403 and "downloads are off" in got.text
        assert export.status_code == 403
    viewed = client.get("/api/contents/table.csv", params={"content": "1"})
    assert viewed.status_code == 200  # JupyterLab's own viewer: not a transfer
    body = b"id,score\n1,9\n"
    put = client.put(
        "/api/contents/upload.csv",
        json={"type": "file", "format": "base64", "content": base64.b64encode(body).decode()},
    )
    assert put.status_code in (200, 201), put.text
    client.put("/api/contents/book.ipynb", json={"type": "notebook", "content": {
        "cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}})  # fmt: skip
    time.sleep(0.5)
    seen = [(r["direction"], r["path"], r["bytes"]) for r in records(spool)
            if r.get("kind") == "transfer"]  # fmt: skip
    size = len("street,members\nJiefang Rd,3\n")
    if on:
        assert ("download", "table.csv", size) in seen
    else:
        assert ("download_refused", "table.csv", None) in seen
        assert any(d == "download_refused" and "nbconvert" in p for d, p, _ in seen)
    upload = [r for r in records(spool) if r.get("direction") == "upload"]
    assert [(r["path"], r["bytes"]) for r in upload] == [("upload.csv", len(body))]
    assert upload[0]["sha256"] == hashlib.sha256(body).hexdigest()
    assert not any(p == "book.ipynb" for _, p, _ in seen)  # notebooks: their cells are audited
