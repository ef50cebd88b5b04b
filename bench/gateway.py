"""Gateway benchmark: a governed wizard API against Datasette and a bare Python floor.

    make bench-gateway          # or: python bench/gateway.py [--rows 1000000 --seconds 10]

One 1,000,000-row served table (SQLite), one run, the same load generator (``wrk``, 10
connections, 2 threads, random keys / random districts) on loopback for:

(a) trustlab: the gateway with a key, a contract (row scope none, two masked fields, a
    pseudonym), rate limit and quota on, metering on — ``GET /apis/bench/v1/{id}`` and a
    filtered page of 50 ``GET /apis/bench/v1?district=…&limit=50``;
(b) Datasette on the same file, immutable, facet suggestions and counts off
    (``_nofacet=1&_nocount=1``) — its row page and its filtered table page;
(c) the floor: Starlette + sqlite3 with no governance (``bench/gateway_floor.py``).

Then the same trustlab calls with the table served from PostgreSQL (when
``TRUSTLAB_TEST_POSTGRES_URL`` or ``--postgres URL`` names a server). Printed: req/s and
p50/p95/p99 for each, and trustlab's ratios to the others.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DISTRICTS = ["海淀区", "朝阳区", "东城区", "西城区", "丰台区", "石景山区", "通州区", "昌平区"]
PRODUCT = "bench"
LUA = """
local n, prefix, suffix, kind = %d, "%s", "%s", "%s"
local districts = {%s}
math.randomseed(%d)
request = function()
  if kind == "key" then
    return wrk.format("GET", prefix .. math.random(1, n) .. suffix)
  end
  return wrk.format("GET", prefix .. districts[math.random(1, #districts)] .. suffix)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%f %%f %%f %%f %%d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def product(platform: Any, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hub.derived import DerivedColumn, DerivedVersion, add_derived_version

    rnd = random.Random(1)
    location = Path(platform.settings.zone("products")) / PRODUCT / "v1"
    location.mkdir(parents=True)
    step = 200_000
    with pq.ParquetWriter(
        location / "part-0.parquet",
        pa.schema(
            [
                ("record_id", pa.int64()),
                ("district", pa.string()),
                ("holder_name", pa.string()),
                ("holder_phone", pa.string()),
                ("members", pa.int64()),
                ("income", pa.float64()),
            ]
        ),
    ) as writer:
        for start in range(1, n + 1, step):
            ids = list(range(start, min(n, start + step - 1) + 1))
            writer.write_table(
                pa.table(
                    {
                        "record_id": ids,
                        "district": [DISTRICTS[i % len(DISTRICTS)] for i in ids],
                        "holder_name": [rnd.choice("王李张刘陈杨") + "某某" for _ in ids],
                        "holder_phone": [f"13{rnd.randint(0, 999_999_999):09d}" for _ in ids],
                        "members": [rnd.randint(1, 6) for _ in ids],
                        "income": [round(rnd.uniform(1000, 90_000), 2) for _ in ids],
                    }
                )
            )
    cols = [
        DerivedColumn("record_id", "int64"),
        DerivedColumn("district", "string"),
        DerivedColumn("holder_name", "string", pii="person_name", level=3),
        DerivedColumn("holder_phone", "string", pii="mobile", level=3),
        DerivedColumn("members", "int64"),
        DerivedColumn("income", "double"),
    ]
    version = DerivedVersion(
        content_hash="b" * 64,
        hash_algorithm="sha256",
        location=str(location),
        rows=n,
        size_bytes=None,
        columns=cols,
        lineage={"bench": True},
    )
    with platform.db.session() as session:
        add_derived_version(
            session, PRODUCT, "product", "bench-owner", version, "production", "review:bench"
        )


def setup(home: Path, rows: int, serving_url: str | None) -> tuple[str, Any]:
    """A platform with the product served, the API published and a consumer's key."""
    from apis.apps import Applications
    from apis.builder import Builder
    from apis.serving import Serving
    from hub.contracts import Contracts
    from hub.identity import Directory, Role
    from hub.platform import Platform
    from hub.settings import Settings

    platform = Platform(Settings(home=home, serving_url=serving_url))
    platform.init()
    product(platform, rows)
    d = Directory(platform)
    for name, roles in {
        "dev": [Role("developer")],
        "prov": [Role("provider", "bench-owner")],
        "op1": [Role("operator")],
        "op2": [Role("operator")],
    }.items():
        d.add_user(name, roles, None, "admin")
    d.create_project("p", "", ["dev"], "admin")
    t0 = time.perf_counter()
    Serving(platform).serve_product(PRODUCT, "op1")
    print(
        f"  served {rows:,} rows in {time.perf_counter() - t0:.1f} s "
        f"({'PostgreSQL' if serving_url else 'SQLite'})",
        flush=True,
    )
    b = Builder(platform)
    b.create(
        {
            "schema": "trustlab.api/1",
            "name": "bench",
            "title": "Bench",
            "kind": "wizard",
            "source": {"serving": PRODUCT},
            "fields": ["record_id", "district", "holder_name", "holder_phone", "members", "income"],
            "key": "record_id",
            "filters": [{"field": "district", "ops": ["eq"]}],
            "page_size": 50,
            "max_page_size": 100,
        },
        "dev",
        "p",
    )
    b.submit("bench", "dev")
    b.decide("bench", 1, "operator", "op2", "approve")
    b.decide("bench", 1, "provider", "prov", "approve")
    b.publish("bench", "op1", 1)
    apps = Applications(platform)
    apps.create("bench-app", "Bench", "op1")
    key = apps.issue_key("bench-app", "op1")["key"]
    start = datetime.now(UTC) - timedelta(hours=1)
    c = Contracts(platform)
    c.import_document(
        {
            "schema": "trustlab.contract/1",
            "ref": "BENCH",
            "title": "bench",
            "parties": {
                "providers": ["bench-owner"],
                "operator": "platform",
                "user": {"kind": "application", "name": "bench-app"},
            },
            "objects": [{"dataset": PRODUCT, "columns": "*", "modes": ["api"]}],
            "purpose": {"category": "other", "text": "benchmark"},
            "valid_from": start.isoformat(),
            "valid_until": (start + timedelta(days=2)).isoformat(),
            "apis": [
                {
                    "api": "bench",
                    "fields": {
                        "record_id": "clear",
                        "district": "clear",
                        "members": "clear",
                        "income": "clear",
                        "holder_name": {"rule": "name_keep_surname"},
                        "holder_phone": "pseudonym",
                    },
                    "quota_per_day": 1_000_000_000,
                    "rate_per_second": 10_000,
                    "max_rows_per_call": 100,
                }
            ],
        },
        "op1",
    )
    c.decide("BENCH", "prov", True)
    c.decide("BENCH", "op2", True)
    platform.close()
    return key, platform.settings


@contextmanager
def serve(cmd: list[str], port: int, env: dict[str, str], probe: str) -> Any:
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited: {proc.stderr.read()[-1500:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load(
    port: int, kind: str, prefix: str, suffix: str, n: int, seconds: int, headers: dict[str, str]
) -> dict[str, float]:
    districts = ",".join(f'"{_q(d)}"' for d in DISTRICTS)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % (n, prefix, suffix, kind, districts, 7))
    args = ["wrk", "-t2", "-c10", f"-d{seconds}s", "-s", fh.name]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True
    ).stdout
    os.unlink(fh.name)
    m = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", out)
    assert m, out
    requests, duration, p50, p95, p99, errors = (float(g) for g in m.groups())
    return {"rps": requests / duration, "p50": p50, "p95": p95, "p99": p99, "errors": errors}


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLAB_")}
    results: dict[str, dict[str, float]] = {}
    try:
        key, settings = setup(work / "home", args.rows, None)
        db = settings.home / "serving" / "serving.db"
        table = "bench__v1"
        auth = {"Authorization": f"Bearer {key}"}
        tenv = {**env, "TRUSTLAB_HOME": str(settings.home)}
        gw, ds, fl = free_port(), free_port(), free_port()
        python = sys.executable
        datasette = str(Path(python).with_name("datasette"))
        with (
            serve(
                [python, "-m", "apis.gateway"],
                gw,
                {**tenv, "TRUSTLAB_GATEWAY_PORT": str(gw)},
                "/healthz",
            ),
            serve(
                [
                    datasette,
                    "serve",
                    "--immutable",
                    str(db),
                    "-p",
                    str(ds),
                    "-h",
                    "127.0.0.1",
                    "--setting",
                    "suggest_facets",
                    "off",
                    "--setting",
                    "default_facet_size",
                    "0",
                    "--setting",
                    "num_sql_threads",
                    "3",
                ],
                ds,
                env,
                "/-/versions.json",
            ),
            serve(
                [
                    python,
                    "-m",
                    "uvicorn",
                    "bench.gateway_floor:app",
                    "--port",
                    str(fl),
                    "--log-level",
                    "warning",
                ],
                fl,
                {
                    **env,
                    "PYTHONPATH": str(ROOT),
                    "TRUSTLAB_FLOOR_DB": str(db),
                    "TRUSTLAB_FLOOR_TABLE": table,
                },
                "/rows/1",
            ),
        ):
            plan = [
                ("trustlab", "key", gw, "/apis/bench/v1/", "", auth),
                ("datasette", "key", ds, f"/serving/{table}/", ".json?_shape=objects", {}),
                ("floor", "key", fl, "/rows/", "", {}),
                ("trustlab", "page", gw, "/apis/bench/v1?limit=50&district=", "", auth),
                (
                    "datasette",
                    "page",
                    ds,
                    f"/serving/{table}.json?_size=50&_nocount=1"
                    "&_nofacet=1&_shape=objects&district=",
                    "",
                    {},
                ),
                ("floor", "page", fl, "/rows?limit=50&district=", "", {}),
            ]
            for _name, kind, port, prefix, suffix, headers in plan:  # warm each once
                load(port, kind, prefix, suffix, args.rows, 2, headers)
            for name, kind, port, prefix, suffix, headers in plan:
                results[f"{name} {kind}"] = load(
                    port, kind, prefix, suffix, args.rows, args.seconds, headers
                )
                print(f"  {name} {kind}: {results[f'{name} {kind}']['rps']:.0f} req/s", flush=True)
        if args.postgres:
            pg_db = fresh_database(args.postgres)
            key, settings = setup(work / "home-pg", args.rows, pg_db)
            tenv = {
                **env,
                "TRUSTLAB_HOME": str(settings.home),
                "TRUSTLAB_SERVING_URL": args.postgres,
                "TRUSTLAB_GATEWAY_PORT": str(gw),
            }
            auth = {"Authorization": f"Bearer {key}"}
            with serve([python, "-m", "apis.gateway"], gw, tenv, "/healthz"):
                for kind, prefix in (
                    ("key", "/apis/bench/v1/"),
                    ("page", "/apis/bench/v1?limit=50&district="),
                ):
                    load(gw, kind, prefix, "", args.rows, 2, auth)
                    results[f"trustlab/PG {kind}"] = load(
                        gw, kind, prefix, "", args.rows, args.seconds, auth
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.postgres:
            drop_databases(args.postgres)
    report(results)


BENCH_DB = "trustlab_bench_gateway"


def fresh_database(admin_url: str) -> str:
    """A new database for the run on the server ``admin_url`` names (dropped afterwards)."""
    import sqlalchemy as sa

    drop_databases(admin_url)
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {BENCH_DB}")
    engine.dispose()
    return sa.engine.make_url(admin_url).set(database=BENCH_DB).render_as_string(False)


def drop_databases(admin_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        role = f"{BENCH_DB}_gateway_ro"
        if conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").first():
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
    engine.dispose()


def report(r: dict[str, dict[str, float]]) -> None:
    print("\n| system | call | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, v in r.items():
        system, call = name.rsplit(" ", 1)
        print(
            f"| {system} | {call} | {v['rps']:.0f} | {v['p50']:.2f} | {v['p95']:.2f} | "
            f"{v['p99']:.2f} | {v['errors']:.0f} |"
        )
    print()
    for call, target_ds in (("key", 1.5), ("page", 2.0)):
        t = r[f"trustlab {call}"]["rps"]
        print(
            f"{call}: trustlab / Datasette = {t / r[f'datasette {call}']['rps']:.2f}x "
            f"(target ≥ {target_ds}x); trustlab / floor = {t / r[f'floor {call}']['rps']:.2f}x "
            f"(target ≥ 0.75x); trustlab p95 {r[f'trustlab {call}']['p95']:.2f} ms "
            "(target < 20 ms at 10 connections)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TRUSTLAB_BENCH_POSTGRES_URL"),
        help="A PostgreSQL database URL to serve from too (it is written).",
    )
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: run `make bench-gateway` (it installs Debian's wrk)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
