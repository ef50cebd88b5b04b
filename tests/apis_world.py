"""A world for API-builder tests: people, a served product, a published API, an application
under contract, its key, and a real gateway process.

The product is registered the way production registers one (``hub.derived``), from a
Parquet folder in the products zone; everything after that goes through the API builder.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from apis.apps import Applications
from apis.builder import Builder
from apis.serving import Serving
from hub.contracts import Contracts
from hub.derived import DerivedColumn, DerivedVersion, add_derived_version
from hub.identity import Directory, Role
from hub.platform import Platform
from hub.settings import Settings

DISTRICTS = ["海淀区", "朝阳区", "东城区", "西城区", "丰台区"]
SURNAMES = "王李张刘陈杨赵黄周吴"
PRODUCT = "household_income"
OWNER = "civil-affairs"

COLUMNS = [
    DerivedColumn("record_id", "int64"),
    DerivedColumn("district", "string"),
    DerivedColumn("holder_name", "string", pii="person_name", level=3),
    DerivedColumn("holder_phone", "string", pii="mobile", level=3),
    DerivedColumn("members", "int64"),
    DerivedColumn("income", "double"),
]


def rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        out.append({
            "record_id": i,
            "district": DISTRICTS[i % len(DISTRICTS)],
            "holder_name": rnd.choice(SURNAMES) + rnd.choice("伟芳娜敏静丽强磊军洋") * rnd.randint(1, 2),
            "holder_phone": f"1{rnd.choice('3589')}{rnd.randint(0, 999_999_999):09d}",
            "members": rnd.randint(1, 6),
            "income": round(rnd.uniform(1000, 90_000), 2),
        })  # fmt: skip
    return out


def add_product_version(platform: Platform, data: list[dict[str, Any]], tag: str) -> int:
    """Write ``data`` as a product version's Parquet folder and register it."""
    location = Path(platform.settings.zone("products")) / PRODUCT / tag
    location.mkdir(parents=True)
    table = pa.Table.from_pylist(data)
    pq.write_table(table, location / "part-00000.parquet")
    version = DerivedVersion(
        content_hash=(tag * 64)[:64], hash_algorithm="sha256", location=str(location),
        rows=len(data), size_bytes=None, columns=list(COLUMNS), lineage={"test": tag},
    )  # fmt: skip
    with platform.db.session() as session:
        return add_derived_version(session, PRODUCT, "product", OWNER, version, "production",
                                   "review:test")  # fmt: skip


def wizard(**changes: Any) -> dict[str, Any]:
    d = {
        "schema": "trustlab.api/1",
        "name": "household-income",
        "title": "Household income by district 区县家庭收入",
        "kind": "wizard",
        "source": {"serving": PRODUCT},
        "fields": ["record_id", "district", "holder_name", "holder_phone", "members", "income"],
        "key": "record_id",
        "filters": [{"field": "district", "ops": ["eq", "in", "prefix"]},
                    {"field": "income", "ops": ["range"]},
                    {"field": "holder_name", "ops": ["eq"]},
                    {"field": "members", "ops": ["eq", "in"]}],
        "sort": ["income", "members", "record_id"],
        "page_size": 10,
        "max_page_size": 50,
    }  # fmt: skip
    d.update(changes)
    return d


def app_contract(ref: str = "HT-API-001", app: str = "acme-insights", **terms: Any) -> dict:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    api_terms = {
        "api": "household-income",
        "fields": {"record_id": "clear", "district": "clear", "income": "clear",
                   "members": "clear", "holder_name": {"rule": "name_keep_surname"},
                   "holder_phone": "pseudonym"},
        "row_scope": [{"field": "district", "op": "eq", "value": "海淀区"}],
        "quota_per_day": 1000,
        "rate_per_second": 1000,
        "max_rows_per_call": 20,
    }  # fmt: skip
    api_terms.update(terms)
    return {
        "schema": "trustlab.contract/1",
        "ref": ref,
        "title": "Household income API for ACME 家庭收入接口",
        "parties": {"providers": [OWNER], "operator": "platform",
                    "user": {"kind": "application", "name": app}},
        "objects": [{"dataset": PRODUCT, "columns": "*", "modes": ["api"]}],
        "purpose": {"category": "statistics", "text": "district income dashboards"},
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=30)).isoformat(),
        "apis": [api_terms],
    }  # fmt: skip


@dataclass
class World:
    platform: Platform
    data: list[dict[str, Any]]
    key: str
    key_id: str

    def contracts(self) -> Contracts:
        return Contracts(self.platform)

    def apps(self) -> Applications:
        return Applications(self.platform)

    def builder(self) -> Builder:
        return Builder(self.platform)

    def activate(self, doc: dict[str, Any]) -> dict[str, Any]:
        c = self.contracts()
        c.import_document(doc, "olga")
        c.decide(doc["ref"], "carol", True)
        return c.decide(doc["ref"], "otto", True)


def build(platform: Platform, n: int = 200) -> World:
    data = rows(n)
    add_product_version(platform, data, "a1")  # its owner organisation appears with it
    d = Directory(platform)
    for name, roles in {
        "dana": [Role("developer")],
        "carol": [Role("provider", OWNER)],
        "olga": [Role("operator")],
        "otto": [Role("operator")],
    }.items():
        d.add_user(name, roles, None, "admin")
    d.create_project("insights", "", ["dana"], "admin")
    Serving(platform).serve_product(PRODUCT, "olga")
    b = Builder(platform)
    b.create(wizard(), "dana", "insights")
    b.submit("household-income", "dana")
    b.decide("household-income", 1, "operator", "otto", "approve")
    b.decide("household-income", 1, "provider", "carol", "approve")
    b.publish("household-income", "olga", 1)
    apps = Applications(platform)
    apps.create("acme-insights", "ACME Analytics", "olga")
    issued = apps.issue_key("acme-insights", "olga")
    world = World(platform, data, issued["key"], issued["key_id"])
    world.activate(app_contract())
    return world


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gateway(env: dict[str, str], **settings: str) -> Iterator[httpx.Client]:
    """A real gateway process (``python -m apis.gateway``) on a free loopback port."""
    port = free_port()
    full = {**env, "TRUSTLAB_GATEWAY_PORT": str(port), "TRUSTLAB_GATEWAY_METER_FLUSH": "0.2",
            **{f"TRUSTLAB_{k.upper()}": v for k, v in settings.items()}}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "apis.gateway"], env=full,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the gateway exited: {proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start within 60 s")
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as client:
            client.port = port  # type: ignore[attr-defined]
            yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait()


# --- the same world on each serving backend ---------------------------------------------


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, dict]]:
    serving = None
    if request.param != "sqlite":
        serving = request.getfixturevalue(f"{request.param}_url")
    settings = Settings(
        home=tmp_path / "home",
        serving_url=serving,
        ledger_checkpoint_interval=4,
        egress_allow=["127.0.0.1/32"],
    )  # registered APIs' test upstreams
    platform = Platform(settings)
    platform.init()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLAB_")}
    env.update(
        TRUSTLAB_HOME=str(settings.home),
        TRUSTLAB_LEDGER_CHECKPOINT_INTERVAL="4",
        TRUSTLAB_EGRESS_ALLOW='["127.0.0.1/32"]',
    )
    if serving:
        env["TRUSTLAB_SERVING_URL"] = serving
    try:
        yield build(platform), env
    finally:
        if request.param == "postgres":  # roles outlive their database
            ro = Serving(platform).readonly_url()
            engine = sa.create_engine(serving, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                role = sa.engine.make_url(ro).username if ro else None
                if role:
                    conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            engine.dispose()
            if role:
                _drop_role(request, role)
        platform.close()


def _drop_role(request: pytest.FixtureRequest, role: str) -> None:
    admin = sa.create_engine(
        request.getfixturevalue("postgres_admin"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
    admin.dispose()
