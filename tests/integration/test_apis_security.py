"""The gateway's security tests, on SQLite, PostgreSQL and MariaDB serving databases.

* An SQL-injection corpus of our own against every parameter of a wizard and a script API
  (values, names, the key in the path, sort, paging): every answer is a 4xx or exactly the
  rows an independent Python evaluation of the same filter gives; never a 5xx; and the
  serving database is the same afterwards (its file bytes on SQLite; every object's
  definition and every table's rows on the servers).
* A BOLA matrix: application A's key never reaches B's APIs, rows outside A's row scope or
  fields outside A's contract, and "not yours" answers exactly like "does not exist".
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from apis_world import World, app_contract, backend, gateway

from apis.serving import Serving

pytestmark = pytest.mark.slow
__all__ = ["backend"]  # the fixture, from apis_world
WIZARD = "/apis/household-income/v1"
SCRIPT_PATH = "/apis/households-in/v1"
SCRIPT = {
    "schema": "trustlab.api/1",
    "name": "households-in",
    "title": "Households of one district 某区家庭",
    "kind": "script",
    "source": [{"serving": "household_income"}],
    "sql": "SELECT record_id, district, members, income FROM household_income "
           "WHERE district = :district AND members >= :min_members ORDER BY record_id",
    "parameters": {"district": {"type": "string", "required": True},
                   "min_members": {"type": "integer", "required": False, "default": 1}},
    "fields": {"record_id": "integer", "district": "string", "members": "integer",
               "income": "number"},
    "max_rows": 500,
}  # fmt: skip

# Written for this suite: tautologies, unions, stacked statements, comments, quoting tricks
# of each dialect (backslashes for MariaDB, dollar quotes for PostgreSQL), time and file
# functions, LIKE wildcards, encodings and oversize values.
CORPUS = [
    "' OR '1'='1", "' OR 1=1 --", "\" OR \"\"=\"", "1 OR 1=1", "1) OR (1=1", "海淀区' OR 'a'='a",
    "x' UNION SELECT holder_name, holder_phone, 1, 2 FROM household_income --",
    "0 UNION ALL SELECT NULL,NULL,NULL,NULL", "'; DROP TABLE household_income; --",
    "1; DELETE FROM household_income", "'); INSERT INTO household_income VALUES (1); --",
    "'; UPDATE household_income SET income = 0; --", "x'; CREATE TABLE owned (a int); --",
    "\\'; DROP TABLE household_income; -- ", "\\\\' OR 1=1 #", "%' OR '%'='", "%", "_", "%%",
    "海%", "\\%", "' AND pg_sleep(3) IS NULL --", "1 AND SLEEP(3)", "randomblob(1000000000)",
    "$$; DROP TABLE household_income; $$", "$q$ OR 1=1 $q$", "' || (SELECT version()) || '",
    "load_extension('x')", "' AND load_file('/etc/passwd') --", "COPY household_income TO '/tmp/x'",
    "ATTACH DATABASE '/tmp/x.db' AS x", "PRAGMA writable_schema=1", "\x00' OR 1=1",
    "％' ＯＲ '1'='1", "\u2019 OR \u20181\u2019=\u20181", "' OR 1=1 /*", "*/ OR 1=1 /*",
    "-1", "0", "1e309", "NaN", "0x7fffffff", "9223372036854775808", "-9223372036854775809",
    "1.5", "  3 ", "true", "null", "[]", "{\"$ne\": null}", "' OR ''='" * 40, "A" * 1001,
    "海淀区", "海淀区\n", "record_id", "-income", "income,record_id",
]  # fmt: skip
SCOPE = "海淀区"  # application A's row scope


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def publish_script(world: World) -> None:
    b = world.builder()
    b.create(SCRIPT, "dana", "insights")
    b.submit(SCRIPT["name"], "dana")
    b.decide(SCRIPT["name"], 1, "operator", "otto", "approve")
    b.publish(SCRIPT["name"], "olga", 1)


def script_terms(**changes: Any) -> dict[str, Any]:
    terms = {"api": SCRIPT["name"], "fields": dict.fromkeys(SCRIPT["fields"], "clear"),
             "row_scope": [{"field": "district", "op": "eq", "value": SCOPE}],
             "quota_per_day": 100_000, "rate_per_second": 10_000, "max_rows_per_call": 500}  # fmt: skip
    terms.update(changes)
    return terms


# --- what the answer must be: the filter evaluated here, in Python ----------------------


def _int(raw: str) -> int | None:
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        return None
    return value if -(2**63) <= value < 2**63 else None


def _float(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def expected_page(data: list[dict], params: list[tuple[str, str]]) -> list[int] | None:
    """The record ids a wizard page must hold for ``params``; None: no correct 200 exists
    (the gateway must refuse with a 4xx)."""
    rows = [r for r in data if r["district"] == SCOPE]
    limit, offset, order = 10, 0, ["record_id"]  # the API's page size; key order
    by_name: dict[str, list[str]] = {}
    for name, value in params:
        by_name.setdefault(name, []).append(value)
    for name, values in by_name.items():
        if name == "district":
            rows = [r for r in rows if r["district"] in values]
        elif name == "district__in":
            if len(values) != 1:
                return None
            rows = [r for r in rows if r["district"] in values[0].split(",")]
        elif name == "district__prefix":
            if len(values) != 1 or not values[0]:
                return None
            rows = [r for r in rows if r["district"].startswith(values[0])]
        elif name in ("income__gte", "income__lt"):
            v = _float(values[0])
            if v is None or len(values) != 1:
                return None
            rows = [
                r for r in rows if (r["income"] >= v if name.endswith("gte") else r["income"] < v)
            ]
        elif name in ("members", "members__in"):
            items = values[0].split(",") if name.endswith("__in") else values
            ints = [_int(i) for i in items]
            if None in ints or (len(values) != 1 and name.endswith("__in")):
                return None
            rows = [r for r in rows if r["members"] in ints]
        elif name in ("limit", "offset"):
            v = _int(values[0])
            if v is None:
                return None
            if name == "limit":
                if not 1 <= v <= 20:
                    return None
                limit = v
            else:
                if not 0 <= v <= 10**9:
                    return None
                offset = v
        elif name == "sort":
            order = [k for v in values for k in v.split(",") if k]
            if any(k.lstrip("-") not in ("record_id", "income", "members") for k in order):
                return None
            if "record_id" not in {k.lstrip("-") for k in order}:
                order.append("record_id")  # ties: ascending keys
        else:
            return None
    for k in reversed(order):  # stable sorts, last key first
        field = k.lstrip("-")
        rows.sort(key=lambda r, f=field: r[f], reverse=k.startswith("-"))
    return [r["record_id"] for r in rows[offset : offset + limit]]


def wizard_probes(payload: str) -> list[list[tuple[str, str]]]:
    names = ["district", "district__in", "district__prefix", "income__gte", "income__lt",
             "members", "members__in", "limit", "offset", "sort"]  # fmt: skip
    probes = [[(n, payload)] for n in names]
    probes.append([("district", SCOPE), ("district", payload)])  # repeated: `in`
    probes.append([(payload, "1")])  # the parameter's name
    probes.append([(f"district__{payload}", "1")])  # the operator
    return probes


# --- the database must be the same afterwards -------------------------------------------


def fingerprint(world: World) -> str:
    """A hash of the serving database: on SQLite its file's bytes and schema; on a server
    every table's and view's definition and rows, and the routines in it."""
    h = hashlib.sha256()
    serving = world.platform.settings.serving
    url = sa.engine.make_url(serving)
    if url.get_backend_name() == "sqlite":
        # Everything committed into the file first: a checkpoint of an unchanged database
        # writes nothing, so equal bytes mean nothing was written in between.
        conn = sqlite3.connect(url.database)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        h.update(Path(url.database).read_bytes())
    engine = Serving(world.platform).engine()
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for view in sorted(inspector.get_view_names()):
                h.update(f"view {view}: {inspector.get_view_definition(view)}".encode())
            for table in sorted(inspector.get_table_names()):
                cols = [c["name"] for c in inspector.get_columns(table)]
                h.update(f"table {table}: {cols}".encode())
                q = sa.select(sa.table(table, *map(sa.column, cols))).order_by(
                    *map(sa.column, cols)
                )
                for row in conn.execute(q):
                    h.update(repr(tuple(row)).encode())
            kind = url.get_backend_name()
            if kind == "postgresql":
                routines = conn.exec_driver_sql(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public' ORDER BY 1"
                ).scalars()
            elif kind in ("mysql", "mariadb"):
                routines = conn.exec_driver_sql(
                    "SELECT routine_name FROM information_schema.routines "
                    "WHERE routine_schema = DATABASE() ORDER BY 1"
                ).scalars()
            else:
                routines = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master ORDER BY 1"
                ).scalars()
            h.update(repr(list(routines)).encode())
    finally:
        engine.dispose()
    return h.hexdigest()


def test_an_injection_corpus_gets_a_4xx_or_the_correct_rows(backend: tuple[World, dict]) -> None:
    world, env = backend
    publish_script(world)
    doc = app_contract(ref="HT-API-SEC")
    doc["apis"][0].update(quota_per_day=100_000, rate_per_second=10_000)
    doc["apis"].append(script_terms())
    world.activate(doc)
    data = world.data
    before = fingerprint(world)
    checked = refused = 0
    with gateway(env) as gw:
        headers = auth(world.key)

        def call(path: str, params: list[tuple[str, str]]) -> Any:
            answer = gw.get(path, params=params, headers=headers)
            assert answer.status_code < 500, (path, params, answer.text)
            if answer.status_code != 200:  # no statement, driver or stack in an error
                leaks = ("household_income__v", "Traceback", "sqlite3", "psycopg", "pymysql")
                assert not any(x in answer.text for x in leaks), answer.text
            return answer

        for payload in CORPUS:
            for params in wizard_probes(payload):
                answer = call(WIZARD, params)
                want = expected_page(data, params)
                if answer.status_code == 200:
                    got = [item["record_id"] for item in answer.json()["data"]]
                    assert want is not None and got == want, (params, got, want)
                    checked += 1
                else:
                    assert 400 <= answer.status_code < 500, (params, answer.status_code)
                    refused += 1
            # the key in the path
            key = gw.get(f"{WIZARD}/{quote(payload, safe='')}", headers=headers)
            assert 400 <= key.status_code < 500 or (
                key.status_code == 200
                and key.json()["record_id"] == _int(payload)
                and next(r for r in data if r["record_id"] == _int(payload))["district"] == SCOPE
            ), (payload, key.status_code)
            # the script's parameters, and a parameter it does not have
            for params in ([("district", payload)], [("district", SCOPE), ("min_members", payload)],
                           [("district", SCOPE), (payload, "1")]):  # fmt: skip
                answer = call(SCRIPT_PATH, params)
                got_params = dict(params)
                if answer.status_code == 200:
                    district = got_params["district"]
                    floor = _int(got_params.get("min_members", "1"))
                    assert floor is not None and set(got_params) <= {"district", "min_members"}
                    want_ids = [r["record_id"] for r in data if r["district"] == district == SCOPE
                                and r["members"] >= floor]  # fmt: skip
                    # in the script's order, though a row scope wraps it (MariaDB would
                    # drop a subquery's ORDER BY: the gateway orders outside again)
                    assert [i["record_id"] for i in answer.json()["data"]] == want_ids
                    checked += 1
                else:
                    assert 400 <= answer.status_code < 500, (params, answer.status_code)
                    refused += 1
    assert checked > 50 and refused > 500  # both kinds of answer were exercised
    assert fingerprint(world) == before


def test_bola_one_application_never_reaches_another_ones_apis_rows_or_fields(
    backend: tuple[World, dict],
) -> None:
    world, env = backend
    publish_script(world)
    # A: the wizard API, 海淀区 only (with HT-API-001, the narrower wins): the phone hidden,
    # the income rounded. B: the script API only, 朝阳区 only.
    a_terms = app_contract(ref="HT-A")
    a_terms["apis"][0]["fields"].update(
        holder_phone="hidden", income={"rule": "numeric_round", "params": {"digits": -3}}
    )
    world.activate(a_terms)
    apps = world.apps()
    apps.create("beta-stats", "Beta Statistics", "olga")
    b_key = apps.issue_key("beta-stats", "olga")["key"]
    b_doc = app_contract(ref="HT-B", app="beta-stats")
    b_doc["apis"] = [script_terms(row_scope=[{"field": "district", "op": "eq", "value": "朝阳区"}])]
    world.activate(b_doc)
    inside = next(r for r in world.data if r["district"] == SCOPE)
    outside = next(r for r in world.data if r["district"] != SCOPE)
    missing = max(r["record_id"] for r in world.data) + 1000
    a, b = auth(world.key), auth(b_key)
    with gateway(env) as gw:

        def problem(path: str, headers: dict, **params: Any) -> tuple:
            r = gw.get(path, headers=headers, params=params)
            assert r.headers["content-type"] == "application/problem+json", (path, r.text)
            body = r.json()
            return r.status_code, body["type"], body["title"], body.get("detail")

        # each reaches what its contract names
        mine = gw.get(f"{WIZARD}/{inside['record_id']}", headers=a)
        assert mine.status_code == 200 and "holder_phone" not in mine.json()
        own = gw.get(SCRIPT_PATH, headers=b, params={"district": "朝阳区"})
        assert own.status_code == 200 and own.json()["data"]
        # what does not exist, for each key
        nothing_a = problem("/apis/no-such-api/v1", a)
        nothing_b = problem("/apis/no-such-api/v1", b)
        assert nothing_a == nothing_b and nothing_a[0] == 404
        not_yours = [
            problem(SCRIPT_PATH, a, district=SCOPE),  # B's API
            problem(WIZARD, b),  # A's API
            problem(f"{WIZARD}/{inside['record_id']}", b),
            problem(f"{WIZARD}/{outside['record_id']}", a),  # outside A's scope
            problem(f"{WIZARD}/{missing}", a),  # no such row
            problem("/apis/household-income/v7", a),  # no such version
        ]
        assert all(n == nothing_a for n in not_yours), not_yours
        # rows outside the scope never come back, whatever the filter asks
        for params in ({"district": outside["district"]}, {"district__prefix": outside["district"][:1]},
                       {"district__in": f"{SCOPE},{outside['district']}"}, {"limit": 20, "offset": 0}):  # fmt: skip
            r = gw.get(WIZARD, headers=a, params=params)
            assert r.status_code == 200
            assert {i["district"] for i in r.json()["data"]} <= {SCOPE}
        b_rows = gw.get(SCRIPT_PATH, headers=b, params={"district": SCOPE}).json()["data"]
        assert b_rows == []  # B's scope is 朝阳区: asking for 海淀区 gives nothing
        # a field outside the contract cannot be returned, filtered or sorted on
        page = gw.get(WIZARD, headers=a, params={"limit": 20}).json()["data"]
        assert page and all("holder_phone" not in i for i in page)
        phones = {r["holder_phone"] for r in world.data}
        assert not any(p in json.dumps(page, ensure_ascii=False) for p in phones)
        hidden = problem(WIZARD, a, holder_phone=outside["holder_phone"])
        unknown = problem(WIZARD, a, no_such_field="1")
        assert hidden[:3] == unknown[:3] and hidden[0] == 400
        incomes = {r["record_id"]: r["income"] for r in world.data}
        assert all(i["income"] == round(incomes[i["record_id"]], -3) for i in page)
        assert any(i["income"] != incomes[i["record_id"]] for i in page)
        for masked in ({"sort": "income"}, {"sort": "-income"}, {"income__gte": "0"}):
            assert problem(WIZARD, a, **masked)[0] == 400  # it would reconstruct the value
        clear_sort = gw.get(WIZARD, headers=a, params={"sort": "-members", "limit": 20})
        assert clear_sort.status_code == 200
        # no key, a malformed key, another application's key id with a wrong secret
        assert problem(WIZARD, {})[0] == 401
        assert problem(WIZARD, auth("tlk_" + "A" * 16 + "_" + "x" * 43))[0] == 401
        b_forged = b["Authorization"][:-4] + "abcd"
        assert problem(WIZARD, {"Authorization": b_forged})[0] == 401
