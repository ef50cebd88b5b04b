"""File transfers in and out of a sandbox: refused or recorded at the Jupyter server.

Downloads are **off** by default (``TRUSTLAB_SANDBOX_DOWNLOADS``; the spawner passes it as
``TRUSTLAB_DOWNLOADS``). Off, the routes that hand a file to the browser as a file —
``/files/…`` (JupyterLab's *Download*, raw file links) and nbconvert's export — answer 403
and each attempt is recorded. On, each download is recorded with its path, size and
SHA-256. Every file written through the contents API (an upload, or a text file saved
from the editor) is recorded the same way; notebook saves are not (their cells are
audited as they run). Records go through the cell audit's spool (``sandbox.audit``) to
the hub, which ledgers them as ``sandbox.download``, ``sandbox.download.refused`` and
``sandbox.upload``.

Showing a file's contents in JupyterLab's own viewers (the contents API's GET) is viewing,
not a transfer, and stays allowed: what the sandbox holds is masked data anyway.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import AuthenticatedFileHandler, JupyterHandler
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web

DOWNLOADS_ENV = "TRUSTLAB_DOWNLOADS"
REFUSED = ("downloads are off on this platform: files leave a sandbox only as a reviewed "
           "pipeline's product (下载已关闭)")  # fmt: skip


def downloads_allowed() -> bool:
    return os.environ.get(DOWNLOADS_ENV, "0") == "1"


def record(direction: str, path: str, size: int | None = None,
           sha256: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A transfer record for the audit spool (sent to the hub with the cells)."""
    return {"kind": "transfer", "id": uuid.uuid4().hex,
            "time": datetime.now(UTC).isoformat(), "direction": direction,
            "path": path[:1000], "bytes": size, "sha256": sha256}  # fmt: skip


def _emit(rec: dict[str, Any]) -> None:
    from sandbox.audit import _emit as spool

    spool(rec)


def file_digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


class TransferFilesHandler(AuthenticatedFileHandler):
    """``/files/…``: refused when downloads are off, recorded when they are on."""

    @web.authenticated
    @authorized
    async def get(self, path: str, include_body: bool = True) -> None:  # type: ignore[override]
        if not downloads_allowed():
            _emit(record("download_refused", path))
            raise web.HTTPError(403, REFUSED)
        await super().get(path, include_body=include_body)
        if include_body and self.absolute_path:
            size, digest = file_digest(Path(self.absolute_path))
            _emit(record("download", path, size, digest))


class BlockedExportHandler(JupyterHandler):
    """nbconvert's export routes while downloads are off."""

    auth_resource = "nbconvert"

    @web.authenticated
    @authorized
    def get(self, *args: Any) -> None:
        _emit(record("download_refused", self.request.path))
        raise web.HTTPError(403, REFUSED)

    post = get


class TransferContentsManager(AsyncLargeFileManager):
    """Records every file (not notebook) written through the contents API, once complete
    (the last chunk of a chunked upload)."""

    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        saved = await super().save(model, path)
        chunk = model.get("chunk")
        if model.get("type") == "file" and (chunk is None or chunk == -1):
            os_path = Path(self._get_os_path(path.strip("/")))
            if os_path.is_file():
                size, digest = file_digest(os_path)
                _emit(record("upload", path, size, digest))
        return saved


def block_exports(serverapp: Any) -> None:
    """Put the export block in front of nbconvert's routes (when downloads are off):
    handlers an extension adds are matched before the server's own."""
    from jupyter_server.utils import url_path_join

    if not downloads_allowed():
        pattern = url_path_join(serverapp.base_url, r"/nbconvert/(.*)")
        serverapp.web_app.add_handlers(".*$", [(pattern, BlockedExportHandler)])
