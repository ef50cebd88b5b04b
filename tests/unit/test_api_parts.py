"""The API builder's pure parts: definitions, narrowing of terms, limits, query building,
dynamic masking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import sqlite

from apis import queries, spec
from apis.access import Predicate, narrow
from apis.dynmask import apply, masks
from apis.limits import LocalLimits
from sandbox.masking import MaskingContext

WIZARD = {
    "schema": "trustlab.api/1", "name": "people-api", "title": "People", "kind": "wizard",
    "source": {"serving": "people"}, "fields": ["id", "district", "name", "income"],
    "key": "id", "filters": [{"field": "district", "ops": ["eq", "in", "prefix"]},
                             {"field": "income", "ops": ["range"]},
                             {"field": "name", "ops": ["eq"]}],
    "sort": ["income"],
}  # fmt: skip
TYPES = {"id": "integer", "district": "string", "name": "string", "income": "number"}


def terms(**changes: object) -> dict:
    t = {"fields": {"id": "clear", "district": "clear", "income": "clear",
                    "name": {"rule": "name_keep_surname"}},
         "quota_per_day": 10, "rate_per_second": 5, "max_rows_per_call": 50}  # fmt: skip
    t.update(changes)
    return t


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "graphql"}, "kind"),
        ({"name": "People API"}, "name"),
        ({"key": "nope"}, "key"),
        ({"fields": ["id", "id"]}, "fields"),
        ({"fields": ["limit"]}, "fields"),
        ({"filters": [{"field": "zzz"}]}, "filters"),
        ({"sort": ["zzz"]}, "sort"),
        ({"page_size": 500, "max_page_size": 100}, "page_size"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_definitions_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(spec.InvalidDefinition, match=field):
        spec.parse({**WIZARD, **change})


def test_the_definition_hash_follows_the_content_only() -> None:
    a = spec.parse(WIZARD)
    b = spec.parse(dict(reversed(list(WIZARD.items()))))
    assert spec.definition_hash(a, "sha256") == spec.definition_hash(b, "sha256")
    c = spec.parse({**WIZARD, "page_size": 10})
    assert spec.definition_hash(a, "sha256") != spec.definition_hash(c, "sha256")


def test_the_narrower_contract_wins() -> None:
    end = datetime.now(UTC) + timedelta(days=3)
    a = ("A", None, {}, terms())
    b = ("B", end, {"calls_per_day": 100}, terms(
        fields={"id": "clear", "district": "pseudonym", "name": {"rule": "redact"}},
        row_scope=[{"field": "district", "op": "eq", "value": "x"}],
        rate_per_second=2, max_rows_per_call=10))  # fmt: skip
    access = narrow("app", "people-api", [a, b], ["id", "district", "name", "income"])
    assert access is not None
    assert access.fields == {"id": "clear", "district": "pseudonym"}  # income hidden in B
    assert access.rate == 2 and access.max_rows == 10 and access.until == end
    assert access.scope == (Predicate("district", "eq", "x"),)
    assert set(access.quotas) == {("q:A:people-api", 10), ("q:B:people-api", 10), ("c:B", 100)}
    assert narrow("app", "people-api", [], ["id"]) is None


def test_limits_charge_only_calls_that_pass() -> None:
    limits = LocalLimits(ZoneInfo("Asia/Shanghai"))
    quotas = [("q:A:x", 3), ("c:A", 5)]
    verdicts = [limits.acquire_now("app:x", 1000, quotas) for _ in range(5)]
    assert [v.ok for v in verdicts] == [True, True, True, False, False]
    assert verdicts[-1].reason == "quota:q:A:x" and verdicts[-1].retry_after >= 1
    assert limits.used == {"q:A:x": 3, "c:A": 3}
    # the rate: a bucket of one second's worth, refilled continuously
    burst = [limits.acquire_now("app:y", 2, []) for _ in range(4)]
    assert [v.ok for v in burst] == [True, True, False, False] and burst[2].reason == "rate"


def test_concurrent_acquires_on_one_loop_are_exact() -> None:
    limits = LocalLimits(ZoneInfo("UTC"))

    async def many() -> list[bool]:
        got = await asyncio.gather(*(limits.acquire("b", 10_000, [("q", 37)]) for _ in range(100)))
        return [v.ok for v in got]

    assert sum(asyncio.run(many())) == 37


def _compile(built: queries.Built) -> str:
    return str(built.statement.compile(dialect=sqlite.dialect()))


def test_filters_become_bound_parameters_and_masked_fields_do_not_filter() -> None:
    d = spec.parse(WIZARD)
    access = narrow("app", "people-api", [("A", None, {}, terms(
        row_scope=[{"field": "district", "op": "in", "value": ["a", "b"]}]))], list(d.fields))  # fmt: skip
    assert access is not None
    evil = "x' OR '1'='1"
    args = {"district": [evil], "income__gte": ["10"], "district__prefix": ["1_%"]}
    filters = queries.parse_filters(d, access, args, TYPES)
    built = queries.wizard_list(d, "people", TYPES, access, filters, ["-income"], 10, 0)
    sql = _compile(built)
    assert evil not in sql and "1_%" not in sql
    assert evil in built.params.values() and "1\\_\\%%" in built.params.values()
    with pytest.raises(queries.BadRequest, match="unknown query parameter 'name'"):
        queries.parse_filters(d, access, {"name": ["王伟"]}, TYPES)
    with pytest.raises(queries.BadRequest, match="not a valid number"):
        queries.parse_filters(d, access, {"income__lt": ["1; DROP TABLE x"]}, TYPES)
    with pytest.raises(queries.BadRequest, match="sortable"):
        queries.wizard_list(d, "people", TYPES, access, [], ["name"], 10, 0)


def test_script_parameters_never_meet_the_scope_parameters() -> None:
    d = spec.parse({
        "schema": "trustlab.api/1", "name": "s", "title": "S", "kind": "script",
        "source": [{"serving": "people"}],
        "sql": "SELECT district, count(*) AS n FROM people WHERE income > :_b0 GROUP BY district",
        "parameters": {"_b0": {"type": "number"}}, "fields": {"district": "string", "n": "integer"},
    })  # fmt: skip
    access = narrow("app", "s", [("A", None, {}, terms(
        fields={"district": "clear", "n": "clear"},
        row_scope=[{"field": "district", "op": "eq", "value": "a"}]))], list(d.fields))  # fmt: skip
    assert access is not None and isinstance(d, spec.Script)
    built = queries.script_query(d, d.sql, access, {"_b0": "5"})
    assert built.params["_b0"] == 5.0 and "a" in built.params.values()
    assert len(built.params) == 3  # the script's, the scope's, the row cap
    with pytest.raises(queries.BadRequest, match="missing required"):
        queries.script_query(d, d.sql, access, {})


def test_dynamic_masking_keys_pseudonyms_per_application() -> None:
    base = MaskingContext(secret=b"k" * 32)
    found = [
        ("A", None, {}, terms(fields={"id": "pseudonym", "name": {"rule": "name_keep_surname"}}))
    ]
    one = narrow("one", "x", found, ["id", "name"])
    two = narrow("two", "x", found, ["id", "name"])
    assert one is not None and two is not None
    row = [("110101199003071234", "欧阳娜娜")]
    a = apply(row, ["id", "name"], masks(one, base))[0]
    b = apply(row, ["id", "name"], masks(two, base))[0]
    assert a["id"].startswith("tk_") and a["id"] != b["id"]
    assert a["name"].startswith("欧阳") and "娜" not in a["name"]


def test_today_follows_the_time_zone_across_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoneinfo import ZoneInfo

    from apis import limits

    tz = ZoneInfo("Asia/Shanghai")
    now = [datetime(2027, 3, 1, 23, 59, 58, tzinfo=tz).timestamp()]
    monkeypatch.setattr(limits.time, "time", lambda: now[0])
    today = limits.Today(tz)
    assert today() == ("2027-03-01", 2)
    now[0] += 1.5
    assert today() == ("2027-03-01", 1)
    now[0] += 1
    assert today() == ("2027-03-02", 86400)
