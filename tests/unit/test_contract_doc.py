"""The contract document's own shape: canonical hashing, time zones, party rules."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from hub.contract_doc import InvalidContract, parse


def doc(**changes: Any) -> dict[str, Any]:
    base = {
        "schema": "trustlab.contract/1", "ref": "GZ-2027-03", "title": "公交客流分析",
        "parties": {"providers": ["transport"], "user": {"kind": "project", "name": "mob"}},
        "objects": [{"dataset": "trips", "columns": ["line", "hour"], "modes": ["pipeline"]}],
        "purpose": {"category": "statistics", "text": "hourly load per line"},
        "valid_from": "2027-01-01T00:00:00+08:00", "valid_until": "2027-07-01T00:00:00+08:00",
    }  # fmt: skip
    base.update(changes)
    return base


def test_the_hash_is_of_the_content_not_its_spelling() -> None:
    a = parse(doc())
    shuffled = json.loads(json.dumps(doc(), sort_keys=True))  # other key order
    utc = doc(valid_from="2026-12-31T16:00:00Z", valid_until="2027-06-30T16:00:00+00:00")
    assert a.digest() == parse(shuffled).digest() == parse(utc).digest()
    assert a.digest() != parse(doc(title="another title")).digest()
    assert a.digest("sm3") != a.digest("sha256")
    assert parse(a.to_json()) == a  # what export writes, import reads


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid_until": "2026-06-01T00:00:00+08:00"}, "valid_until"),  # before valid_from
        ({"objects": [{"dataset": "trips", "columns": [], "modes": ["api"]}]}, "objects.0.columns"),
        (
            {"objects": [{"dataset": "trips", "columns": ["a", "a"], "modes": ["api"]}]},
            "objects.0.columns",
        ),
        (
            {"objects": [{"dataset": "trips", "columns": "*", "modes": ["api", "api"]}]},
            "objects.0.modes",
        ),
        (
            {
                "objects": [
                    {"dataset": "t", "columns": "*", "modes": ["api"]},
                    {"dataset": "t", "columns": "*", "modes": ["sandbox"]},
                ]
            },
            "objects",
        ),
        (
            {
                "parties": {
                    "providers": ["transport"],
                    "user": {"kind": "application", "name": "bus-app"},
                }
            },
            "objects",
        ),
        ({"purpose": {"category": "marketing", "text": "x"}}, "purpose.category"),
        ({"schema": "trustlab.contract/2"}, "schema"),
    ],
)
def test_bad_shapes_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidContract, match=f"contract field {re.escape(field)}: ") as caught:
        parse(doc(**change))
    assert "\n" not in str(caught.value)  # one line


API_TERMS = {"api": "trips-api", "fields": {"trip": "clear"}, "quota_per_day": 10,
             "rate_per_second": 1, "max_rows_per_call": 5}  # fmt: skip


def test_an_application_may_use_the_api_mode_only() -> None:
    app = {"providers": ["transport"], "user": {"kind": "application", "name": "bus-app"}}
    objects = [{"dataset": "trips", "columns": "*", "modes": ["api"]}]
    ok = doc(parties=app, objects=objects, apis=[API_TERMS])
    assert parse(ok).parties.user.kind == "application"
    with pytest.raises(InvalidContract, match="api mode only"):
        parse(doc(parties=app, apis=[API_TERMS]))
    with pytest.raises(InvalidContract, match="names the APIs"):
        parse(doc(parties=app, objects=objects))
    with pytest.raises(InvalidContract, match="only an application"):
        parse(doc(apis=[API_TERMS]))
    with pytest.raises(InvalidContract, match=r"apis\.0\.row_scope\.0"):
        scope = [{"field": "trip", "op": "in", "value": "x"}]
        parse(doc(parties=app, objects=objects, apis=[{**API_TERMS, "row_scope": scope}]))


def test_a_document_without_apis_keeps_its_hash() -> None:
    d = parse(doc())
    assert "apis" not in d.to_json()


def test_not_a_document() -> None:
    with pytest.raises(InvalidContract, match="JSON object"):
        parse(["a", "list"])
