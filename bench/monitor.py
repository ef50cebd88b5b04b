"""The contract monitor's costs, side by side with the floor each one stands on.

1. **Risk evaluation**: ``hub.risk.evaluate`` over N new ledger entries (a day's mix of
   cells, spawns, refusals, downloads), against the floor: reading the same entries in the
   same batches with no rule at all.
2. **The contract check** at a point of use: ``hub.terms.terms`` with C contracts of the
   project, against a plain indexed lookup of one row per (project, dataset) — what the
   grant check it replaced cost.
3. **A column view**: making one for a sample of R rows, and reusing it.

    python bench/monitor.py [--entries 20000] [--contracts 50] [--rows 100000]

Runs in the platform environment on a scratch SQLite platform (PostgreSQL: set
``TRUSTLAB_DATABASE_URL``); prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from hub.catalog import Catalog, Registration
from hub.contracts import Contracts
from hub.identity import Directory, Role
from hub.models import LedgerEntry, Project
from hub.mounts import column_view
from hub.platform import Platform
from hub.risk import BATCH, evaluate
from hub.settings import Settings
from hub.terms import terms


def world(home: Path, contracts: int) -> Platform:
    platform = Platform(Settings(home=home, ledger_checkpoint_interval=1_000_000))
    platform.init()
    csv = home / "relief.csv"
    csv.write_text("household,street,members\nH1,Jiefang Rd,3\n")
    catalog = Catalog(platform, "bench")
    catalog.register(Registration(str(csv)), "relief", "civil-affairs")
    catalog.confirm("relief")
    d = Directory(platform)
    d.add_user("dana", [Role("developer")], None, "bench")
    d.add_user("carol", [Role("provider", "civil-affairs")], None, "bench")
    d.add_user("olga", [Role("operator")], None, "bench")
    d.create_project("welfare", "", ["dana"], "bench")
    c = Contracts(platform)
    start = datetime.now(UTC) - timedelta(hours=1)
    for i in range(contracts):
        c.import_document({
            "schema": "trustlab.contract/1", "ref": f"HT-{i:04d}", "title": f"bench {i}",
            "parties": {"providers": ["civil-affairs"],
                        "user": {"kind": "project", "name": "welfare"}},
            "objects": [{"dataset": "relief", "columns": ["street", "members"],
                         "modes": ["sandbox", "pipeline"]}],
            "purpose": {"category": "research", "text": "bench"},
            "valid_from": start.isoformat(),
            "valid_until": (start + timedelta(days=30 + i)).isoformat(),
            "limits": {"runs_per_day": 100},
        }, "olga")  # fmt: skip
        c.decide(f"HT-{i:04d}", "carol", True)
        c.decide(f"HT-{i:04d}", "olga", True)
    return platform


def fill(platform: Platform, n: int) -> None:
    users = [f"user{i:02d}" for i in range(40)]
    d = Directory(platform)
    for u in users:
        d.add_user(u, [Role("developer")], None, "bench")
    download = {"path": "a.csv", "bytes": 2000, "sha256": "ab" * 32}
    kinds = [("sandbox.cell", {"code": 'df = load("relief")\ndf.head()', "output_bytes": 1800}),
             ("sandbox.cell", {"code": "x = 1 + 1", "output_bytes": 10}),
             ("sandbox.spawn", {"session": 1}), ("access.refused", {"reason": "no"}),
             ("sandbox.download", download)]  # fmt: skip
    with platform.db.session() as session:
        for i in range(n):
            action, payload = kinds[i % len(kinds)] if i % 50 else kinds[3]
            platform.ledger.append(session, users[i % len(users)], action, "project:welfare",
                                   payload)  # fmt: skip


def floor(platform: Platform) -> int:
    seen, done = 0, 0
    while True:
        with platform.db.session() as session:
            batch = session.scalars(select(LedgerEntry).where(LedgerEntry.seq > done)
                                    .order_by(LedgerEntry.seq).limit(BATCH)).all()  # fmt: skip
            if not batch:
                return seen
            for e in batch:
                json.loads(e.payload)
            seen += len(batch)
            done = batch[-1].seq


def timed(fn: Any, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=20_000)
    ap.add_argument("--contracts", type=int, default=50)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        platform = world(Path(tmp), args.contracts)
        evaluate(platform)  # the setup is history
        fill(platform, args.entries)
        read = timed(lambda: floor(platform))
        t = time.perf_counter()
        alerts = evaluate(platform)
        rules = time.perf_counter() - t
        rows.append((f"risk evaluation, {args.entries:,} new entries ({len(alerts)} alerts)",
                     f"{args.entries / rules:,.0f} entries/s ({rules:.2f} s)",
                     f"{args.entries / read:,.0f} entries/s ({read:.2f} s)",
                     f"{rules / read:.1f}×"))  # fmt: skip
        with platform.db.session() as session:
            samples = []
            for _ in range(200):
                t = time.perf_counter()
                terms(session, "welfare", "relief", "sandbox")
                samples.append(time.perf_counter() - t)
            check = statistics.median(samples)
            pid = session.scalar(select(Project.id).where(Project.name == "welfare"))
            plain = []
            for _ in range(200):
                t = time.perf_counter()
                session.scalar(select(Project).where(Project.id == pid))
                plain.append(time.perf_counter() - t)
            lookup = statistics.median(plain)
        rows.append((f"contract check, {args.contracts} contracts of the project",
                     f"{check * 1000:.2f} ms", f"{lookup * 1000:.3f} ms (one indexed row)",
                     f"{check / lookup:.0f}×"))  # fmt: skip
        sample = Path(tmp) / "lake" / "samples" / "relief" / "0123456789abcdef"
        sample.mkdir(parents=True)
        cols = {f"c{i}": [f"v{i}-{j % 997}" for j in range(args.rows)] for i in range(12)}
        pq.write_table(pa.table(cols), sample / "part-00000.parquet")
        copy = timed(lambda: pq.write_table(pq.read_table(sample / "part-00000.parquet"),
                                            Path(tmp) / "copy.parquet"))  # fmt: skip
        first = timed(lambda: column_view(sample, "ab" * 32, ("c3", "c7", "c1")))
        again = timed(lambda: column_view(sample, "ab" * 32, ("c3", "c7", "c1")), repeat=5)
        rows.append((f"column view of a {args.rows:,}-row, 12-column sample (3 columns)",
                     f"first {first * 1000:.0f} ms, reused {again * 1000:.2f} ms",
                     f"{copy * 1000:.0f} ms (copying the whole sample)",
                     f"{first / copy:.2f}×"))  # fmt: skip
        platform.close()
    print("| what | trustlab | floor | ratio |\n|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
