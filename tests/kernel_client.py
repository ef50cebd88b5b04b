"""Run code in a sandbox's kernel through the hub's proxy, as a notebook client would."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import websocket


class Kernel:
    def __init__(self, server_url: str, token: str) -> None:
        self.server_url = server_url.rstrip("/") + "/"
        self.headers = {"Authorization": f"token {token}"}
        self.http = httpx.Client(headers=self.headers, timeout=60)
        resp = self.http.post(self.server_url + "api/kernels", json={"name": "python3"})
        resp.raise_for_status()
        self.id = resp.json()["id"]
        ws_url = self.server_url.replace("http", "ws", 1) + f"api/kernels/{self.id}/channels"
        self.ws = websocket.create_connection(
            ws_url, header=[f"Authorization: token {token}"], timeout=120
        )
        self.session = uuid.uuid4().hex

    def execute(self, code: str, timeout: float = 120) -> dict[str, Any]:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": self.session,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False},
        }))  # fmt: skip
        out: dict[str, Any] = {"stdout": "", "stderr": "", "result": None, "error": None}
        reply = idle = False
        deadline = time.monotonic() + timeout
        while not (reply and idle):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply within {timeout}s for {code[:60]!r}")
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind == "execute_result":
                out["result"] = content["data"].get("text/plain")
            elif kind == "error":
                out["error"] = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                out["status"], reply = content["status"], True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return out

    def close(self) -> None:
        try:
            self.ws.close()
            self.http.delete(self.server_url + f"api/kernels/{self.id}")
        finally:
            self.http.close()
