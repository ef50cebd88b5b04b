"""Cell audit inside a sandbox: a Jupyter server extension.

Every ``execute_request`` that reaches a kernel through this Jupyter server is watched at
the server (not in the kernel, where user code could unhook it): the code when the request
passes, the size of the outputs the kernel sends back for it, and the status of its
``execute_reply``. Each finished cell becomes a record

    {id, time, code, status, execution_count, output_bytes}

written atomically to a local spool (on the persistent work volume), then sent in batches
to the hub's cell-audit service with the server's own hub token. If the hub is away the
records wait in the spool and go out when it answers again; the service deduplicates by
id, so a resend after a lost reply is recorded once.

Enabled by the image's ``jupyter_server_config.py``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

SPOOL_ENV = "TRUSTLAB_AUDIT_SPOOL"
URL_ENV = "TRUSTLAB_AUDIT_URL"
V1 = "v1.kernel.websocket.jupyter.org"
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error", "update_display_data"}
_spool: Spool | None = None


class Spool:
    """A folder of pending records: one JSON file each, written by rename (never torn)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)

    def add(self, record: dict[str, Any]) -> Path:
        name = f"{time.time_ns():020d}-{record['id']}.json"
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(json.dumps(record, ensure_ascii=False))
        os.replace(tmp, self.path / name)
        return self.path / name

    def pending(self, limit: int = 200) -> list[tuple[Path, dict[str, Any]]]:
        out = []
        for path in sorted(self.path.glob("*.json"))[:limit]:
            try:
                out.append((path, json.loads(path.read_text())))
            except (OSError, ValueError):
                continue  # half-visible file from another writer; next round
        return out

    def flush(self, send: Callable[[list[dict[str, Any]]], bool]) -> int:
        """Send pending records in order; delete those acknowledged. Returns how many."""
        sent = 0
        while batch := self.pending():
            if not send([record for _, record in batch]):
                break
            for path, _ in batch:
                path.unlink(missing_ok=True)
            sent += len(batch)
        return sent


def http_sender(url: str, token: str, timeout: float = 10) -> Callable[[list[dict]], bool]:
    """POST records to the audit service; True when it acknowledged them."""
    import urllib.error
    import urllib.request

    def send(records: list[dict[str, Any]]) -> bool:
        body = json.dumps({"records": records}, ensure_ascii=False).encode()
        req = urllib.request.Request(
            url.rstrip("/") + "/cells",
            data=body,
            method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return 200 <= resp.status < 300
        except (urllib.error.URLError, OSError):
            return False

    return send


class CellTracker:
    """Pairs execute requests with their outputs and reply; emits finished records."""

    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self.emit = emit
        self.pending: dict[str, dict[str, Any]] = {}

    def request(self, msg_id: str, code: str) -> None:
        self.pending[msg_id] = {
            "id": uuid.uuid4().hex,
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "code": code,
            "status": "unknown",
            "execution_count": None,
            "output_bytes": 0,
        }

    def output(self, parent_id: str, msg_type: str, size: int) -> None:
        record = self.pending.get(parent_id)
        if record is not None and msg_type in OUTPUT_TYPES:
            record["output_bytes"] += size

    def reply(self, parent_id: str, content: dict[str, Any]) -> None:
        """The shell reply: status and count. Outputs may still be in flight on iopub (the
        two channels are not ordered), so the cell is finished only once the kernel has also
        said ``idle`` for it."""
        record = self.pending.get(parent_id)
        if record is None:
            return
        record["status"] = str(content.get("status", "unknown"))
        record["execution_count"] = content.get("execution_count")
        record["_replied"] = True
        self._finish(parent_id)

    def idle(self, parent_id: str) -> None:
        """iopub ``status: idle`` for the request: every output of it has been sent."""
        record = self.pending.get(parent_id)
        if record is not None:
            record["_idle"] = True
            self._finish(parent_id)

    def _finish(self, parent_id: str) -> None:
        record = self.pending[parent_id]
        if record.get("_replied") and record.get("_idle"):
            del self.pending[parent_id]
            self.emit({k: v for k, v in record.items() if not k.startswith("_")})

    def close(self) -> None:
        """The client went away mid-cell: record what was asked, status ``disconnected``."""
        for record in self.pending.values():
            if not record.get("_replied"):
                record["status"] = "disconnected"
            self.emit({k: v for k, v in record.items() if not k.startswith("_")})
        self.pending.clear()


def _emit(record: dict[str, Any]) -> None:
    spool = get_spool()
    spool.add(record)
    _flush_soon()


def get_spool() -> Spool:
    global _spool
    if _spool is None:
        default = Path.home() / ".trustlab" / "audit-spool"
        _spool = Spool(Path(os.environ.get(SPOOL_ENV) or default))
    return _spool


def _flush() -> int:
    url, token = os.environ.get(URL_ENV), os.environ.get("JUPYTERHUB_API_TOKEN")
    if not url or not token:
        return 0
    return get_spool().flush(http_sender(url, token))


def _flush_soon() -> None:
    try:
        from tornado.ioloop import IOLoop

        IOLoop.current().run_in_executor(None, _flush)
    except RuntimeError:
        _flush()


class AuditedWebsocketConnection(ZMQChannelsWebsocketConnection):
    """The kernel websocket, with every execute request and its reply observed."""

    @property
    def tracker(self) -> CellTracker:
        if not hasattr(self, "_trustlab_tracker"):
            self._trustlab_tracker = CellTracker(_emit)
        return self._trustlab_tracker

    def handle_incoming_message(self, incoming_msg) -> None:
        try:
            header, content, channel = self._parse_incoming(incoming_msg)
            if channel in (None, "shell") and header.get("msg_type") == "execute_request":
                self.tracker.request(header["msg_id"], str(content.get("code", "")))
        except Exception:  # auditing must never break the notebook; log loudly
            self.log.exception("trustlab cell audit: could not read an incoming message")
        super().handle_incoming_message(incoming_msg)

    def _parse_incoming(self, ws_msg) -> tuple[dict, dict, str | None]:
        if self.subprotocol == V1:
            from jupyter_server.services.kernels.connection.base import (
                deserialize_msg_from_ws_v1,
            )

            channel, parts = deserialize_msg_from_ws_v1(ws_msg)
            return self.session.unpack(parts[0]), self.session.unpack(parts[3]), channel
        if isinstance(ws_msg, bytes):
            from jupyter_server.services.kernels.connection.base import (
                deserialize_binary_message,
            )

            msg = deserialize_binary_message(ws_msg)
        else:
            msg = json.loads(ws_msg)
        return msg.get("header") or {}, msg.get("content") or {}, msg.get("channel")

    def handle_outgoing_message(self, stream, outgoing_msg) -> None:
        try:
            if self.tracker.pending:
                _, parts = self.session.feed_identities(outgoing_msg)
                parent = self.session.unpack(parts[2])
                parent_id = parent.get("msg_id")
                if parent_id in self.tracker.pending:
                    header = self.session.unpack(parts[1])
                    msg_type = header.get("msg_type")
                    if msg_type == "execute_reply":
                        self.tracker.reply(parent_id, self.session.unpack(parts[4]))
                    elif msg_type == "status":
                        content = self.session.unpack(parts[4])
                        if content.get("execution_state") == "idle":
                            self.tracker.idle(parent_id)
                    else:
                        size = sum(len(p) for p in parts[4:])
                        self.tracker.output(parent_id, msg_type, size)
        except Exception:
            self.log.exception("trustlab cell audit: could not read an outgoing message")
        super().handle_outgoing_message(stream, outgoing_msg)

    def on_close(self) -> None:
        self.tracker.close()
        parent = getattr(super(), "on_close", None)
        if parent is not None:
            parent()

    def disconnect(self) -> None:
        try:
            self.tracker.close()
        finally:
            super().disconnect()


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "sandbox.audit"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from tornado.ioloop import PeriodicCallback

    get_spool()
    from sandbox.transfers import block_exports

    block_exports(serverapp)  # nbconvert's downloads, while downloads are off
    # Retry what the hub did not take (e.g. while it restarted) every few seconds.
    from tornado.ioloop import IOLoop

    callback = PeriodicCallback(
        lambda: IOLoop.current().run_in_executor(None, _flush), 5000, jitter=0.2
    )
    callback.start()
    serverapp.log.info("trustlab cell audit: spool %s, service %s", get_spool().path,
                       os.environ.get(URL_ENV) or "(none)")  # fmt: skip
