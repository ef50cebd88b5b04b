"""The serving zone on real PostgreSQL and MariaDB servers: a product served, swapped, and
answered by a real gateway through its provisioned SELECT-only login, wizard and script."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from apis_world import PRODUCT, World, add_product_version, app_contract, backend, gateway, rows

from apis.serving import Serving

pytestmark = pytest.mark.slow
__all__ = ["backend"]  # the fixture, from apis_world
PATH = "/apis/household-income/v1"
SCRIPT = {
    "schema": "trustlab.api/1",
    "name": "income-by-district",
    "title": "Average income by district 区县平均收入",
    "kind": "script",
    "source": [{"serving": PRODUCT}],
    "sql": "SELECT district, count(*) AS households, round(avg(income), 2) AS avg_income "
           "FROM household_income WHERE members >= :min_members GROUP BY district "
           "ORDER BY district",
    "parameters": {"min_members": {"type": "integer", "required": False, "default": 1}},
    "fields": {"district": "string", "households": "integer", "avg_income": "number"},
    "max_rows": 100,
}  # fmt: skip


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_wizard_and_script_apis_answer_from_each_backend(backend: tuple[World, dict]) -> None:
    world, env = backend
    b = world.builder()
    b.create(SCRIPT, "dana", "insights")
    b.submit("income-by-district", "dana")
    assert b.decide("income-by-district", 1, "operator", "otto", "approve")["state"] == "approved"
    b.publish("income-by-district", "olga", 1)
    doc = app_contract(ref="HT-API-S")
    doc["apis"].append({"api": "income-by-district",
                        "fields": {"district": "clear", "households": "clear",
                                   "avg_income": {"rule": "numeric_round", "params": {"digits": -2}}},
                        "row_scope": [{"field": "district", "op": "in", "value": ["海淀区", "朝阳区"]}],
                        "quota_per_day": 100, "rate_per_second": 100, "max_rows_per_call": 10})  # fmt: skip
    world.activate(doc)
    expected: dict[str, list[float]] = {}
    for r in world.data:
        if r["members"] >= 3:
            expected.setdefault(r["district"], []).append(r["income"])
    with gateway(env) as gw:
        r = gw.get(PATH, headers=auth(world.key), params={"district__prefix": "海", "limit": 5})
        assert r.status_code == 200, r.text
        assert {i["district"] for i in r.json()["data"]} == {"海淀区"}
        one = gw.get(f"{PATH}/5", headers=auth(world.key)).json()
        assert one["income"] == world.data[4]["income"]
        s = gw.get("/apis/income-by-district/v1", headers=auth(world.key),
                   params={"min_members": 3})  # fmt: skip
        assert s.status_code == 200, s.text
        got = {i["district"]: i for i in s.json()["data"]}
        assert set(got) == {"海淀区", "朝阳区"}
        for district, item in got.items():
            incomes = expected[district]
            assert item["households"] == len(incomes)
            assert item["avg_income"] == round(round(sum(incomes) / len(incomes), 2), -2)
        bad = gw.get("/apis/income-by-district/v1", headers=auth(world.key),
                     params={"min_members": "1 OR 1=1"})  # fmt: skip
        assert bad.status_code == 400
        # a new product version is swapped in under the same view
        newer = rows(200, seed=42)
        add_product_version(world.platform, newer, "b2")
        assert Serving(world.platform).serve_product(PRODUCT, "olga")["product_version"] == 2
        after = gw.get(f"{PATH}/5", headers=auth(world.key)).json()
        assert after["income"] == newer[4]["income"]


@pytest.mark.parametrize(  # SQLite has no login: the gateway opens its file read-only
    "backend",
    [pytest.param("postgres", marks=pytest.mark.postgres),
     pytest.param("mariadb", marks=pytest.mark.mariadb)],
    indirect=True,
)  # fmt: skip
def test_the_gateway_login_cannot_write(backend: tuple[World, dict[str, Any]]) -> None:
    world, _ = backend
    ro = Serving(world.platform).readonly_url()
    assert ro is not None and sa.engine.make_url(ro).username.endswith("_gateway_ro")
    engine = sa.create_engine(ro)
    try:
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM household_income")
    finally:
        engine.dispose()
