"""The API builder end to end on both metadata lanes: serve a product, review and publish a
wizard API, an application under contract, and a real gateway process answering it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from apis_world import PRODUCT, World, add_product_version, app_contract, build, gateway, rows
from sqlalchemy import select, update

from apis import metering
from apis.models import ApiCall, ServingTable
from apis.serving import Serving
from hub.errors import InvalidState
from hub.identity import PermissionDenied
from hub.models import LedgerEntry
from hub.platform import Platform

pytestmark = pytest.mark.slow
PATH = "/apis/household-income/v1"


@pytest.fixture
def world(platform: Platform) -> World:
    return build(platform)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_consumer_sees_only_its_scope_masked_as_its_contract_says(
    world: World, cli_env: dict[str, str]
) -> None:
    by_id = {r["record_id"]: r for r in world.data}
    with gateway(cli_env) as gw:
        r = gw.get(PATH, headers=auth(world.key), params={"limit": 20})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["data"]) == 20 and body["page"]["next_offset"] == 20
        for item in body["data"]:
            raw = by_id[item["record_id"]]
            assert item["district"] == "海淀区" == raw["district"]
            assert item["income"] == raw["income"]
            assert item["holder_name"][0] == raw["holder_name"][0]
            assert item["holder_name"] != raw["holder_name"]
            assert item["holder_phone"].startswith("tk_")
            assert raw["holder_phone"] not in json.dumps(item)
        # beyond the contract's row cap
        assert gw.get(PATH, headers=auth(world.key), params={"limit": 21}).status_code == 400
        # a filter and a sort on clear fields work; on a masked field they do not exist
        r = gw.get(PATH, headers=auth(world.key),
                   params={"income__gte": 50000, "sort": "-income", "limit": 5})  # fmt: skip
        incomes = [i["income"] for i in r.json()["data"]]
        assert incomes == sorted(incomes, reverse=True) and min(incomes) >= 50000
        masked = gw.get(PATH, headers=auth(world.key), params={"holder_name": "王伟"})
        unknown = gw.get(PATH, headers=auth(world.key), params={"nonexistent": "1"})
        assert masked.status_code == unknown.status_code == 400
        assert masked.json()["title"] == unknown.json()["title"]
        assert "holder_name" in masked.json()["detail"]


def test_out_of_scope_rows_and_other_apis_look_like_nothing(
    world: World, cli_env: dict[str, str]
) -> None:
    inside = next(r for r in world.data if r["district"] == "海淀区")
    outside = next(r for r in world.data if r["district"] != "海淀区")
    with gateway(cli_env) as gw:
        ok = gw.get(f"{PATH}/{inside['record_id']}", headers=auth(world.key))
        assert ok.status_code == 200 and ok.json()["record_id"] == inside["record_id"]
        answers = [
            gw.get(f"{PATH}/{outside['record_id']}", headers=auth(world.key)),
            gw.get(f"{PATH}/999999", headers=auth(world.key)),
            gw.get("/apis/no-such-api/v1", headers=auth(world.key)),
            gw.get("/apis/household-income/v9", headers=auth(world.key)),
        ]
        assert {a.status_code for a in answers} == {404}
        assert len({(a.json()["title"], a.json()["detail"]) for a in answers}) == 1
        assert all(a.headers["content-type"] == "application/problem+json" for a in answers)


def test_keys_revocation_rotation_and_urls(world: World, cli_env: dict[str, str]) -> None:
    apps = world.apps()
    with gateway(cli_env) as gw:
        assert gw.get(PATH).status_code == 401
        assert gw.get(PATH, headers=auth(world.key[:-1] + "x")).status_code == 401
        in_url = gw.get(PATH, params={"api_key": world.key})
        assert in_url.status_code == 400 and world.key not in in_url.text
        rotated = apps.issue_key("acme-insights", "olga", rotate=True)
        assert world.key_id in rotated["rotated"]
        # both work during the overlap
        assert gw.get(PATH, headers=auth(world.key)).status_code == 200
        assert gw.get(PATH, headers=auth(rotated["key"])).status_code == 200
        apps.revoke_key("acme-insights", world.key_id, "olga", "rotated out")
        assert gw.get(PATH, headers=auth(world.key)).status_code == 401  # the next call
        assert gw.get(PATH, headers=auth(rotated["key"])).status_code == 200


def test_suspension_and_offline_take_effect_on_the_next_call(
    world: World, cli_env: dict[str, str]
) -> None:
    with gateway(cli_env) as gw:
        assert gw.get(PATH, headers=auth(world.key)).status_code == 200
        world.contracts().set_state("HT-API-001", "olga", "suspend", "investigating")
        assert gw.get(PATH, headers=auth(world.key)).status_code == 404
        world.contracts().set_state("HT-API-001", "olga", "resume", "cleared")
        assert gw.get(PATH, headers=auth(world.key)).status_code == 200
        world.builder().offline("household-income", "olga", 1, "replaced")
        gone = gw.get(PATH, headers=auth(world.key))
        assert gone.status_code == 410 and gone.json()["status"] == 410


def test_quota_is_exact_under_concurrency(world: World, cli_env: dict[str, str]) -> None:
    world.activate(app_contract(ref="HT-API-002", quota_per_day=7))  # narrower: 7 a day
    with gateway(cli_env) as gw:

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=str(gw.base_url), timeout=30) as client:
                return await asyncio.gather(
                    *(client.get(PATH, headers=auth(world.key)) for _ in range(25))
                )

        answers = asyncio.run(burst())
        codes = [a.status_code for a in answers]
        assert codes.count(200) == 7 and codes.count(429) == 18
        refused = next(a for a in answers if a.status_code == 429)
        assert int(refused.headers["Retry-After"]) >= 1
    # a new gateway process counts today's charged calls from the metering log
    with gateway(cli_env) as gw:
        assert gw.get(PATH, headers=auth(world.key)).status_code == 429


def test_calls_are_metered_and_digests_verify(world: World, cli_env: dict[str, str]) -> None:
    with gateway(cli_env, gateway_digest_interval="1") as gw:
        for _ in range(5):
            assert gw.get(PATH, headers=auth(world.key)).status_code == 200
        assert gw.get(f"{PATH}/999999", headers=auth(world.key)).status_code == 404
    with world.platform.db.session() as session:
        calls = list(session.scalars(select(ApiCall).order_by(ApiCall.id)))
        digests = list(session.scalars(select(LedgerEntry).where(
            LedgerEntry.action == "api.meter.digest")))  # fmt: skip
    assert [c.status for c in calls] == [200] * 5 + [404]
    assert all(c.application == "acme-insights" and c.contract == "HT-API-001" for c in calls)
    assert sum(json.loads(d.payload)["count"] for d in digests) == 6
    assert metering.verify(world.platform) == []
    with world.platform.db.session() as session:
        session.execute(update(ApiCall).where(ApiCall.id == calls[0].id).values(rows=0))
    problems = metering.verify(world.platform)
    assert len(problems) == 1 and "differ" in problems[0]


def test_monitoring_counts_errors_latency_and_quota_use(
    world: World, cli_env: dict[str, str]
) -> None:
    from apis import monitoring

    world.activate(app_contract(ref="HT-API-003", quota_per_day=50))  # a second quota
    with gateway(cli_env) as gw:
        codes = [gw.get(PATH, headers=auth(world.key)).status_code for _ in range(3)]
        codes.append(gw.get(f"{PATH}/999999", headers=auth(world.key)).status_code)
        codes.append(gw.get(f"{PATH}?income__gte=many", headers=auth(world.key)).status_code)
        codes.append(gw.get(PATH, headers=auth("tlk_nope")).status_code)  # no application
    assert codes == [200, 200, 200, 404, 400, 401]
    info = monitoring.overview(world.platform, hours=1)
    (api,) = [a for a in info["apis"] if a["api"] == "household-income"]
    assert (api["calls"], api["client_errors"], api["server_errors"]) == (5, 2, 0)
    assert api["error_rate"] == 0.4 and api["rows"] > 0
    with world.platform.db.session() as session:
        latency = sorted(session.scalars(select(ApiCall.latency_ms)))
    assert api["p50_ms"] == latency[2] and api["p95_ms"] == latency[4]  # nearest rank of 5
    (app,) = [a for a in info["applications"] if a["application"] == "acme-insights"]
    assert app["calls"] == 5
    use = {q["contract"]: (q["used"], q["quota"]) for q in app["quota_today"]}
    assert use == {"HT-API-001": (5, 1000), "HT-API-003": (5, 50)}
    later = datetime.now(UTC) + timedelta(hours=2)  # a window that ends after these calls
    assert monitoring.overview(world.platform, hours=1, now=later)["apis"] == []


def test_review_binds_the_hash_and_needs_the_provider_for_pii(world: World) -> None:
    from apis_world import wizard

    b = world.builder()
    v2 = b.create(wizard(page_size=20), "dana", "insights")
    assert v2["version"] == 2 and v2["providers"] == ["civil-affairs"]
    with pytest.raises(InvalidState):
        b.decide("household-income", 2, "operator", "otto", "approve")  # not submitted
    b.submit("household-income", "dana")
    with pytest.raises(PermissionDenied):
        b.decide("household-income", 2, "operator", "dana", "approve")  # its author
    assert b.decide("household-income", 2, "operator", "otto", "approve")["state"] == "submitted"
    with pytest.raises(InvalidState):
        b.publish("household-income", "olga", 2)  # the provider has not approved
    assert b.decide("household-income", 2, "provider", "carol", "approve")["state"] == "approved"
    # without PII fields only the operator reviews
    v3 = b.create(wizard(fields=["record_id", "district", "income"], key="record_id",
                         filters=[], sort=[]), "dana", "insights")  # fmt: skip
    assert v3["providers"] == []


def test_serving_a_new_version_swaps_atomically_and_keeps_one_old(
    world: World, cli_env: dict[str, str]
) -> None:
    serving = Serving(world.platform)
    with gateway(cli_env) as gw:
        before = gw.get(f"{PATH}/5", headers=auth(world.key)).json()
        newer = rows(200, seed=99)
        add_product_version(world.platform, newer, "b2")
        info = serving.serve_product(PRODUCT, "olga")
        assert info["changed"] and info["product_version"] == 2
        after = gw.get(f"{PATH}/5", headers=auth(world.key)).json()
        assert after["income"] == newer[4]["income"] != before["income"]
        add_product_version(world.platform, rows(200, seed=5), "c3")
        serving.serve_product(PRODUCT, "olga")
    with world.platform.db.session() as session:
        states = [(t.physical, t.state) for t in session.scalars(
            select(ServingTable).order_by(ServingTable.id))]  # fmt: skip
    assert [s for _, s in states] == ["dropped", "old", "current"]
    with pytest.raises(PermissionDenied):
        serving.serve_product(PRODUCT, "dana")


def test_application_contracts_are_checked_against_the_api(world: World) -> None:
    from hub.contract_doc import InvalidContract

    c = world.contracts()
    bad: list[tuple[dict[str, Any], str]] = [
        (app_contract(ref="X1", app="nobody"), "no application"),
        (app_contract(ref="X2", api="no-such-api"), "no API"),
        (app_contract(ref="X3", fields={"salary": "clear"}), "returns no salary"),
        (app_contract(ref="X4", fields={"income": {"rule": "no_such_rule"}}), "unknown masking"),
        (app_contract(ref="X5", row_scope=[{"field": "zzz", "op": "eq", "value": 1}]),
         "cannot be scoped"),
    ]  # fmt: skip
    for doc, message in bad:
        with pytest.raises(InvalidContract, match=message):
            c.import_document(doc, "olga")
    doc = app_contract(ref="X6")
    doc["objects"] = [{"dataset": PRODUCT, "columns": ["record_id"], "modes": ["api"]}]
    with pytest.raises(InvalidContract, match="not among the object's columns"):
        c.import_document(doc, "olga")


@pytest.mark.redis
def test_two_gateways_share_one_exact_quota_in_redis(
    world: World, cli_env: dict[str, str], redis_url: str
) -> None:
    world.activate(app_contract(ref="HT-API-002", quota_per_day=11))
    with (
        gateway(cli_env, gateway_redis_url=redis_url) as one,
        gateway(cli_env, gateway_redis_url=redis_url) as two,
    ):

        async def burst() -> list[httpx.Response]:
            async with (
                httpx.AsyncClient(base_url=str(one.base_url), timeout=30) as a,
                httpx.AsyncClient(base_url=str(two.base_url), timeout=30) as b,
            ):
                calls = [(a if i % 2 else b).get(PATH, headers=auth(world.key)) for i in range(30)]
                return await asyncio.gather(*calls)

        codes = [r.status_code for r in asyncio.run(burst())]
        assert codes.count(200) == 11 and codes.count(429) == 19


def test_a_consumer_walking_keys_is_frozen_by_the_monitor(
    world: World, cli_env: dict[str, str]
) -> None:
    from hub import risk
    from hub.models import Contract, RiskAlert

    with gateway(cli_env, gateway_digest_interval="1") as gw:
        for key in range(1, 131):  # consecutive keys, hits and misses, all inside the quota
            assert gw.get(f"{PATH}/{key}", headers=auth(world.key)).status_code in (200, 404)
        for offset in range(0, 40, 20):  # and a little ordinary paging
            assert (
                gw.get(PATH, headers=auth(world.key), params={"offset": offset}).status_code == 200
            )
    risk.evaluate(world.platform)
    with world.platform.db.session() as session:
        alerts = list(session.scalars(select(RiskAlert)))
        contract = session.scalar(select(Contract).where(Contract.ref == "HT-API-001"))
    found = {(a.rule, a.subject_kind, a.subject, a.severity) for a in alerts}
    assert ("key_enumeration", "application", "acme-insights", "high") in found
    assert not any(a.rule == "bulk_paging" for a in alerts)  # 40 of 200 rows paged
    assert contract.state == "suspended"  # frozen: the next call finds nothing
    with gateway(cli_env) as gw:
        assert gw.get(f"{PATH}/5", headers=auth(world.key)).status_code == 404


def test_publishing_indexes_what_the_api_looks_up_filters_and_sorts(world: World) -> None:
    import sqlite3

    info = Serving(world.platform).current(PRODUCT)
    assert ["record_id"] in info["indexes"] and ["district", "record_id"] in info["indexes"]
    path = world.platform.settings.serving.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            f'EXPLAIN QUERY PLAN SELECT * FROM "{info["view"]}" WHERE record_id = 5'
        ).fetchall()
        page = conn.execute(
            f'EXPLAIN QUERY PLAN SELECT * FROM "{info["view"]}" WHERE district = ? '
            "ORDER BY record_id LIMIT 50",
            ("海淀区",),
        ).fetchall()
    assert any("USING INDEX" in str(row) for row in plan), plan
    assert not any("TEMP B-TREE" in str(row) for row in page), page  # read in order


def test_a_slow_sqlite_query_leaves_the_event_loop_and_still_answers(world: World) -> None:
    from apis import queries
    from apis.gateway import Gateway

    script = {
        "schema": "trustlab.api/1", "name": "pairs", "title": "Pairs 配对", "kind": "script",
        "source": [{"serving": PRODUCT}],
        "sql": "SELECT a.district AS district, count(*) AS pairs FROM household_income a "
               "JOIN household_income b ON a.members <= b.members "
               "JOIN household_income c ON b.members <= c.members GROUP BY a.district "
               "ORDER BY district",
        "fields": {"district": "string", "pairs": "integer"}, "max_rows": 10,
    }  # fmt: skip
    b = world.builder()
    b.create(script, "dana", "insights")
    b.submit("pairs", "dana")
    b.decide("pairs", 1, "operator", "otto", "approve")
    b.publish("pairs", "olga", 1)
    doc = app_contract(ref="HT-API-P")
    doc["apis"] = [{"api": "pairs", "fields": {"district": "clear", "pairs": "clear"},
                    "quota_per_day": 10, "rate_per_second": 10, "max_rows_per_call": 10}]  # fmt: skip
    world.activate(doc)
    members = [r["members"] for r in world.data]
    want = {}
    for r in world.data:
        n = sum(sum(1 for m3 in members if m2 <= m3) for m2 in members if r["members"] <= m2)
        want[r["district"]] = want.get(r["district"], 0) + n

    async def twice() -> list[list[tuple]]:
        gw = Gateway(world.platform)
        try:
            ep = gw.state.endpoints[("pairs", 1)]
            access = gw.state.access("acme-insights", ep, datetime.now(UTC))
            got = []
            for _ in range(2):
                built = queries.script_query(ep.definition, ep.sql, access, {}, ep.order)
                got.append((await gw._run(ep, access, built, 11))[1])
                assert gw._slow  # past the inline budget: a worker thread from now on
            return got
        finally:
            await gw.close()

    for rows_ in asyncio.run(twice()):
        assert dict(rows_) == want


def test_expiry_of_a_rotated_key_and_of_terms_and_the_rate_limit(
    world: World, cli_env: dict[str, str]
) -> None:
    import time

    from apis.apps import Applications

    brief = world.platform.settings.model_copy(update={"api_key_overlap_hours": 3 / 3600})
    short = Platform(brief)
    apps = Applications(short)  # a rotated key keeps working 3 s
    apps.create("brief-stats", "Brief Statistics", "olga")
    old = apps.issue_key("brief-stats", "olga")["key"]
    with gateway(cli_env) as gw:
        ends = datetime.now(UTC) + timedelta(seconds=8)
        world.activate(app_contract(ref="HT-API-T", app="brief-stats",
                                    valid_until=ends.isoformat(), rate_per_second=2))  # fmt: skip
        new = apps.issue_key("brief-stats", "olga", rotate=True)["key"]
        assert gw.get(PATH, headers=auth(old)).status_code == 200  # the overlap
        answers = [gw.get(PATH, headers=auth(new)) for _ in range(6)]  # in well under 1 s
        codes = [a.status_code for a in answers]
        # two a second with one second of burst, one token already taken: at most 2 more
        assert codes.count(200) <= 2 and codes.count(429) >= 4, codes
        assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)
        time.sleep(3.5)  # the overlap ends: the old key is refused on its next call
        assert gw.get(PATH, headers=auth(old)).status_code == 401
        assert gw.get(PATH, headers=auth(new)).status_code == 200
        time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.5)
        gone = gw.get(PATH, headers=auth(new))  # the terms ended: as if there were none
        assert gone.status_code == 404 and gone.json()["title"] == "Not found"
    short.close()
