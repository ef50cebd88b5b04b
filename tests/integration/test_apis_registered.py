"""Registered and orchestrated APIs end to end: a local upstream on 127.0.0.1 (allowed for
the gateway process with ``egress_allow``), review by the service's provider, a contract,
and a real gateway process. Nothing connects outside this machine; the SSRF refusal at
create time uses a stub resolver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from apis_world import OWNER, PRODUCT, World, backend, build, gateway
from sqlalchemy import select

from apis import spec
from apis.builder import Builder
from apis.models import ApiCall
from apis.secrets import Secrets
from hub.contract_doc import InvalidContract
from hub.identity import Directory, Role
from hub.models import LedgerEntry, Organisation
from hub.platform import Platform
from hub.settings import Settings

pytestmark = pytest.mark.slow
__all__ = ["backend"]  # the fixture, from apis_world
SECRET = "s3cr3t-Upstream-Value"
SERVICE = "stats-bureau"
ALLOW = '["127.0.0.1/32"]'
DISTRICTS = ["海淀区", "朝阳区", "海淀区", "东城区", "海淀区"]


class Upstream(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        q = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        Upstream.seen.append({"path": self.path, "headers": dict(self.headers), "q": q})
        mode = q.get("mode", "ok")
        if mode == "slow":
            time.sleep(3)
        if mode == "fail":
            body, status = b'{"error": "UPSTREAM-INTERNAL-DETAIL at db01"}', 500
        elif mode == "big":
            body, status = json.dumps({"data": [{"id": 1, "pad": "x" * 20_000}]}).encode(), 200
        else:
            data = [{"id": i + 1, "district": d, "contact": {"phone": f"1380000000{i}"},
                     "score": str(10 * (i + 1)) if i != 1 else "n/a"}
                    for i, d in enumerate(DISTRICTS)]  # fmt: skip
            body, status = json.dumps({"data": data}).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url, ledger_checkpoint_interval=4,
                    probe_rows=500, egress_allow=["127.0.0.1/32"])  # fmt: skip


@pytest.fixture
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    Upstream.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def stats_api(port: int, **changes: Any) -> dict[str, Any]:
    d = {"schema": "trustlab.api/1", "name": "district-stats", "title": "District stats",
         "kind": "registered", "provider": SERVICE,
         "request": {"method": "GET", "url": f"http://127.0.0.1:{port}/stats/{{district}}",
                     "secret": "stats-token", "secret_prefix": "Bearer ", "timeout_s": 10,
                     "max_bytes": 4000},
         "parameters": {"district": {"type": "string"},
                        "mode": {"type": "string", "required": False, "default": "ok"}},
         "response": {"records": "$.data[*]", "fields": {
             "id": {"path": "$.id", "type": "integer"}, "district": {"path": "$.district"},
             "phone": {"path": "$.contact.phone"}, "score": {"path": "$.score", "type": "integer"}}}}  # fmt: skip
    d.update(changes)
    return d


def combo_api(**changes: Any) -> dict[str, Any]:
    d = {"schema": "trustlab.api/1", "name": "district-people", "title": "People with stats",
         "kind": "orchestrated",
         "parameters": {"district": {"type": "string"},
                        "mode": {"type": "string", "required": False, "default": "ok"}},
         "steps": [
             {"id": "people", "api": "household-income", "version": 1,
              "params": {"district": "$.params.district"}},
             {"id": "stats", "api": "district-stats", "version": 1, "timeout_s": 1,
              "params": {"district": "$.params.district", "mode": "$.params.mode"}},
             {"id": "again", "api": "district-stats", "version": 1, "after": ["people"],
              "when": {"path": "$.steps.stats.data[0].score", "op": "gt", "value": 1000},
              "params": {"district": "$.params.district"}},
             {"id": "pick", "api": "household-income", "version": 1, "after": ["stats"],
              "when": "$.steps.people.data[0].record_id",
              "params": {"district": "$.params.district", "income__gte": "$.steps.stats.data[0].score"}},
         ],
         "output": {"step": "pick", "fields": {
             "id": {"path": "$.record_id", "type": "integer"}, "district": {"path": "$.district"},
             "name": {"path": "$.holder_name"}, "income": {"path": "$.income", "type": "number"}}}}  # fmt: skip
    d.update(changes)
    return d


def publish(world: World, definition: dict[str, Any], providers: list[str]) -> None:
    b = world.builder()
    made = b.create(definition, "dana", "insights")
    assert made["providers"] == providers, made
    b.submit(definition["name"], "dana")
    b.decide(definition["name"], made["version"], "operator", "otto", "approve")
    for org in providers:
        reviewer = {OWNER: "carol", SERVICE: "sam"}[org]
        b.decide(definition["name"], made["version"], "provider", reviewer, "approve")
    b.publish(definition["name"], "olga", made["version"])


def contract(ref: str, providers: list[str], objects: list[dict], terms: dict) -> dict:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return {"schema": "trustlab.contract/1", "ref": ref, "title": "Stats for ACME",
            "parties": {"providers": providers, "operator": "platform",
                        "user": {"kind": "application", "name": "acme-insights"}},
            "objects": objects, "purpose": {"category": "statistics", "text": "dashboards"},
            "valid_from": start.isoformat(), "valid_until": (start + timedelta(days=30)).isoformat(),
            "apis": [{"quota_per_day": 1000, "rate_per_second": 1000, "max_rows_per_call": 20,
                      **terms}]}  # fmt: skip


def activate(world: World, doc: dict, reviewers: list[str]) -> None:
    c = world.contracts()
    c.import_document(doc, "olga")
    for who in [*reviewers, "otto"]:
        c.decide(doc["ref"], who, True)


@pytest.fixture
def world(platform: Platform, upstream: int) -> World:
    return with_stats(build(platform), upstream)


def with_stats(w: World, upstream: int) -> World:
    """``w`` with the registered API ``district-stats`` of a provider without datasets."""
    platform = w.platform
    with platform.db.session() as session:  # a service provider that registers no dataset
        session.add(Organisation(name=SERVICE))
    Directory(platform).add_user("sam", [Role("provider", SERVICE)], None, "admin")
    Secrets(platform).set("stats-token", SECRET, "olga")
    publish(w, stats_api(upstream), [SERVICE])
    stats_terms = {"api": "district-stats", "fields": {"id": "clear", "district": "clear",
                   "score": "clear", "phone": {"rule": "mobile_keep3_4"}},
                   "row_scope": [{"field": "district", "op": "eq", "value": "海淀区"}]}  # fmt: skip
    activate(w, contract("HT-STATS-1", [SERVICE], [], stats_terms), ["sam"])
    return w


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_registered_api_is_called_with_the_secret_scoped_and_masked(
    world: World, cli_env: dict[str, str], upstream: int
) -> None:
    path = "/apis/district-stats/v1"
    with gateway(cli_env, egress_allow=ALLOW) as gw:
        r = gw.get(path, headers=auth(world.key), params={"district": "海淀/区@x"})
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert [d["id"] for d in data] == [1, 3, 5]  # the row scope, in Python
        assert all(d["district"] == "海淀区" for d in data)
        assert [d["score"] for d in data] == [10, 30, 50]
        assert all(d["phone"] != f"1380000000{d['id'] - 1}" for d in data)  # masked
        seen = Upstream.seen[-1]
        assert seen["headers"]["Authorization"] == f"Bearer {SECRET}"
        assert seen["path"].startswith("/stats/%E6%B5%B7%E6%B7%80%2F%E5%8C%BA%40x?mode=ok")
        doc = gw.get(f"{path}/openapi.json").text
        answers = [r.text, doc]
        failed = gw.get(path, headers=auth(world.key), params={"district": "x", "mode": "fail"})
        big = gw.get(path, headers=auth(world.key), params={"district": "x", "mode": "big"})
        for bad in (failed, big):
            assert (
                bad.status_code == 502 and bad.headers["content-type"] == "application/problem+json"
            )
            assert "UPSTREAM" not in bad.text and "127.0.0.1" not in bad.text
            answers.append(bad.text)
        assert "district" in json.loads(doc)["paths"][path]["get"]["parameters"][0]["name"]
    with world.platform.db.session() as session:
        entries = list(session.scalars(select(LedgerEntry)))
        ledger = " ".join(e.payload for e in entries)
        set_by = [(e.actor, e.subject) for e in entries if e.action == "api.secret.set"]
        statuses = [c.status for c in session.scalars(select(ApiCall).order_by(ApiCall.id))]
    assert statuses == [200, 502, 502]
    assert all(SECRET not in text for text in [*answers, ledger])
    assert set_by == [("olga", "api-secret:stats-token")]  # by name, never the value


def test_ssrf_and_missing_parts_are_refused_at_create_time(world: World, upstream: int) -> None:
    answers = {"private.example.test": ["10.0.0.7"], "meta.example.test": ["169.254.169.254"],
               "mixed.example.test": ["93.184.216.34", "192.168.1.2"],
               "public.example.test": ["93.184.216.34"]}  # fmt: skip
    asked: list[str] = []

    def stub(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[host]

    b = Builder(world.platform, resolver=stub)
    for host in ("private", "meta", "mixed"):
        url = f"https://{host}.example.test/stats/{{district}}"
        bad = stats_api(
            upstream, name=f"{host}-stats", request={**stats_api(upstream)["request"], "url": url}
        )
        with pytest.raises(spec.InvalidDefinition, match="not a public address"):
            b.create(bad, "dana", "insights")
    ok = stats_api(upstream, name="public-stats",
                   request={**stats_api(upstream)["request"], "url": "https://public.example.test/s/{district}"})  # fmt: skip
    assert b.create(ok, "dana", "insights")["providers"] == [SERVICE]
    assert asked == ["private.example.test", "meta.example.test", "mixed.example.test",
                     "public.example.test"]  # fmt: skip
    no_secret = stats_api(upstream, name="nosecret-stats",
                          request={**stats_api(upstream)["request"], "secret": "nope"})  # fmt: skip
    with pytest.raises(spec.InvalidDefinition, match="no stored credential 'nope'"):
        b.create(no_secret, "dana", "insights")
    with pytest.raises(spec.InvalidDefinition, match="no organisation"):
        b.create(stats_api(upstream, name="x-stats", provider="nobody"), "dana", "insights")
    # a contract for it must list the service's provider among its providers
    terms = {"api": "district-stats", "fields": {"id": "clear"}}
    with pytest.raises(InvalidContract, match="stats-bureau"):
        world.contracts().import_document(contract("HT-X", [OWNER], [], terms), "olga")


def test_an_orchestrated_api_maps_masks_skips_and_times_out(
    world: World, cli_env: dict[str, str]
) -> None:
    b = world.builder()
    with pytest.raises(spec.InvalidDefinition, match=r"steps\.0\.api"):
        b.create(combo_api(steps=[{"id": "a", "api": "nothing-here", "version": 1}],
                           output={"step": "a", "fields": {"x": {"path": "$.x"}}}), "dana", "insights")  # fmt: skip
    publish(world, combo_api(), sorted([OWNER, SERVICE]))
    with pytest.raises(spec.InvalidDefinition, match="includes itself"):
        b.create(combo_api(steps=[{"id": "a", "api": "district-people", "version": 1}],
                           output={"step": "a", "fields": {"x": {"path": "$.x"}}}), "dana", "insights")  # fmt: skip
    terms = {"api": "district-people", "fields": {"id": "clear", "district": "clear",
             "income": "clear", "name": {"rule": "name_keep_surname"}},
             "row_scope": [{"field": "district", "op": "eq", "value": "海淀区"}]}  # fmt: skip
    objects = [{"dataset": PRODUCT, "columns": "*", "modes": ["api"]}]
    activate(
        world, contract("HT-COMBO", sorted([OWNER, SERVICE]), objects, terms), ["carol", "sam"]
    )
    path = "/apis/district-people/v1"
    by_id = {r["record_id"]: r for r in world.data}
    before = len(Upstream.seen)
    with gateway(cli_env, egress_allow=ALLOW) as gw:
        r = gw.get(path, headers=auth(world.key), params={"district": "海淀区"})
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        expected = [x for x in world.data if x["district"] == "海淀区" and x["income"] >= 10][:10]
        assert [d["id"] for d in data] == [x["record_id"] for x in expected]
        for d in data:
            raw = by_id[d["id"]]
            assert d["name"][0] == raw["holder_name"][0] and d["name"] != raw["holder_name"]
            assert set(d) == {"id", "district", "income", "name"}
        assert len(Upstream.seen) == before + 1  # "again" was skipped: its condition is false
        outside = gw.get(path, headers=auth(world.key), params={"district": "朝阳区"})
        assert outside.status_code == 200 and outside.json()["data"] == []  # the row scope
        slow = gw.get(path, headers=auth(world.key), params={"district": "海淀区", "mode": "slow"})
        assert slow.status_code == 504 and slow.json()["title"] == "Step timed out"
        doc = gw.get("/consumer/openapi.json", headers=auth(world.key)).json()
        item = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert set(item["schema"]["properties"]["data"]["items"]["properties"]) == {
            "id", "district", "income", "name"}  # fmt: skip
        assert SECRET not in json.dumps(doc)


def test_registered_and_orchestrated_apis_over_each_serving_backend(
    backend: tuple[World, dict], upstream: int
) -> None:
    world, env = with_stats(backend[0], upstream), backend[1]
    publish(world, combo_api(), sorted([OWNER, SERVICE]))
    terms = {"api": "district-people", "fields": {"id": "clear", "district": "clear",
             "income": "clear", "name": {"rule": "name_keep_surname"}}}  # fmt: skip
    objects = [{"dataset": PRODUCT, "columns": "*", "modes": ["api"]}]
    activate(
        world, contract("HT-COMBO", sorted([OWNER, SERVICE]), objects, terms), ["carol", "sam"]
    )
    with gateway(env) as gw:
        stats = gw.get(
            "/apis/district-stats/v1", headers=auth(world.key), params={"district": "海淀区"}
        )
        assert stats.status_code == 200 and stats.json()["data"], stats.text
        r = gw.get(
            "/apis/district-people/v1", headers=auth(world.key), params={"district": "朝阳区"}
        )
        assert r.status_code == 200, r.text
        want = [
            x["record_id"] for x in world.data if x["district"] == "朝阳区" and x["income"] >= 10
        ]
        assert [d["id"] for d in r.json()["data"]] == want[:10]  # the wizard step, on this backend
