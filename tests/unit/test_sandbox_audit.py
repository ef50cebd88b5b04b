"""Cell-audit pieces that run inside a sandbox: tracker, spool, sender (no hub needed)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from hub.audit_service import server_names
from sandbox.audit import CellTracker, Spool, http_sender


def test_tracker_pairs_outputs_and_reply_with_their_request() -> None:
    done: list[dict] = []
    tracker = CellTracker(done.append)
    tracker.request("m1", "print('hi')")
    tracker.request("m2", "1/0")
    tracker.output("m1", "stream", 10)
    tracker.output("m1", "status", 999)  # not an output
    tracker.output("other", "stream", 50)  # someone else's message
    tracker.output("m2", "error", 300)
    tracker.reply("m2", {"status": "error", "execution_count": 2})
    tracker.idle("m2")
    # shell and iopub are not ordered: m1's reply comes before its last output
    tracker.reply("m1", {"status": "ok", "execution_count": 1})
    assert len(done) == 1
    tracker.output("m1", "stream", 5)
    tracker.idle("m1")
    assert [(r["code"], r["status"], r["output_bytes"], r["execution_count"]) for r in done] == [
        ("1/0", "error", 300, 2),
        ("print('hi')", "ok", 15, 1),
    ]
    assert len({r["id"] for r in done}) == 2
    tracker.reply("m1", {"status": "ok"})  # a duplicate reply records nothing more
    tracker.idle("m1")
    assert len(done) == 2


def test_tracker_records_cells_cut_off_by_a_disconnect() -> None:
    done: list[dict] = []
    tracker = CellTracker(done.append)
    tracker.request("m1", "import time; time.sleep(600)")
    tracker.close()
    assert [(r["code"], r["status"]) for r in done] == [
        ("import time; time.sleep(600)", "disconnected")
    ]


def test_spool_keeps_records_until_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for i in range(3):
        spool.add({"id": f"r{i}", "code": str(i)})
    assert spool.flush(lambda batch: False) == 0
    assert len(spool.pending()) == 3
    seen: list[list[str]] = []

    def accept(batch: list[dict]) -> bool:
        seen.append([r["id"] for r in batch])
        return True

    assert spool.flush(accept) == 3
    assert seen == [["r0", "r1", "r2"]]  # in order, once
    assert spool.pending() == []
    assert not list((tmp_path / "spool").iterdir())


def test_spool_ignores_a_half_written_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    (tmp_path / "0001-torn.json").write_text('{"id": "to')
    spool.add({"id": "ok"})
    assert [r["id"] for _, r in spool.pending()] == ["ok"]


def test_http_sender_posts_with_the_token_and_reports_failure(tmp_path: Path) -> None:
    received: list[tuple[str, dict]] = []
    status = {"code": 503}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.headers["Authorization"], body))
            self.send_response(status["code"])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        send = http_sender(f"http://127.0.0.1:{server.server_port}/services/audit/", "tok")
        assert send([{"id": "a"}]) is False  # hub answering 503: keep the spool
        status["code"] = 200
        assert send([{"id": "a"}]) is True
        assert received[-1] == ("token tok", {"records": [{"id": "a"}]})
    finally:
        server.shutdown()
    # nobody listening: False, no exception
    assert http_sender(f"http://127.0.0.1:{server.server_port}/", "tok", timeout=1)([]) is False


def test_server_names_come_only_from_the_tokens_own_scopes() -> None:
    identity = {
        "name": "alice",
        "scopes": [
            "access:servers!server=alice/",
            "access:servers!server=alice/gpu",
            "access:servers!server=bob/",  # another user's server is never hers
            "read:users:activity!user=alice",
        ],
    }
    assert server_names(identity) == {"", "gpu"}
    assert server_names({"name": "alice", "scopes": []}) == set()
