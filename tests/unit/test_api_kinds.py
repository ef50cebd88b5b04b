"""Registered and orchestrated API definitions: parsing and refusals, records and row
scope in Python, and the step graph's scheduling (no network: nothing here connects)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apis import orchestrate, records, spec
from apis.access import Predicate
from apis.callout import Callout

BASE = {"schema": "trustlab.api/1", "title": "T"}


def registered(url: str = "https://api.example.com/v1/people/{pid}", **request: Any) -> dict:
    return {**BASE, "name": "people-svc", "kind": "registered", "provider": "stats-bureau",
            "request": {"url": url, **request},
            "parameters": {"pid": {"type": "string"}, "q": {"required": False}},
            "response": {"records": "$.data[*]",
                         "fields": {"id": {"path": "$.id", "type": "integer"},
                                    "phone": {"path": "$.contact.phone"}}}}  # fmt: skip


def step(sid: str, **more: Any) -> dict:
    return {"id": sid, "api": "people-svc", "version": 1, **more}


def orchestrated(steps: list[dict], **more: Any) -> dict:
    return {**BASE, "name": "combo", "kind": "orchestrated",
            "parameters": {"district": {"type": "string"}}, "steps": steps,
            "output": {"step": steps[-1]["id"], "fields": {"id": {"path": "$.id"}}},
            **more}  # fmt: skip


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://{pid}.example.com/x", "host and port are fixed"),
        ("https://api.example.com{pid}/x", "host and port are fixed"),
        ("https://api.example.com:{pid}/x", "malformed"),
        ("https://user@api.example.com/{pid}", "host and port are fixed"),
        ("file:///etc/passwd?{pid}", "http:// or https://"),
        ("gopher://api.example.com/{pid}", "http:// or https://"),
        ("https://api.example.com/{pid!r}", "placeholders are"),
        ("https://api.example.com/{pid:>10}", "placeholders are"),
        ("https://api.example.com/{{pid}}", "placeholders are"),
        ("https://api.example.com/{pid}#frag", "fragment"),
        ("https://api.example.com/{other}", "not one of the parameters"),
    ],
)
def test_a_registered_url_cannot_let_a_parameter_choose_the_host(url: str, message: str) -> None:
    with pytest.raises(spec.InvalidDefinition, match=message):
        spec.parse(registered(url))


@pytest.mark.parametrize("value", ["evil.com/x", "@evil.com", "../../admin", "a?b#c", "%2e%2e"])
def test_placeholder_values_are_encoded_whole(value: str) -> None:
    d = spec.parse(registered("https://api.example.com/v1/people/{pid}?x=1"))
    url = d.request.render({"pid": value})
    assert url.startswith("https://api.example.com/v1/people/")
    tail = url.removeprefix("https://api.example.com/v1/people/")
    assert "/" not in tail.removesuffix("?x=1") and "@" not in tail and "#" not in tail


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"headers": {"Authorization": "Bearer abc"}}, "credentials go in the server-side store"),
        ({"headers": {"X-Api-Key": "abc"}}, "credentials go in the server-side store"),
        ({"headers": {"Host": "evil.com"}}, "cannot be set here"),
        ({"headers": {"X-Note": "a\r\nInjected: 1"}}, "one line"),
        ({"secret": "Bearer abc123"}, "NAME of a stored credential"),
        ({"secret": "tok", "secret_header": "Host"}, "cannot carry a credential"),
        ({"method": "DELETE"}, "method"),
        ({"timeout_s": 0}, "timeout_s"),
    ],
)
def test_registered_requests_refused(request_: dict, message: str) -> None:
    with pytest.raises(spec.InvalidDefinition, match=message):
        spec.parse(registered(**request_))


def test_a_registered_definition_needs_a_provider_and_valid_paths() -> None:
    bad = registered()
    del bad["provider"]
    with pytest.raises(spec.InvalidDefinition, match="provider"):
        spec.parse(bad)
    bad = registered()
    bad["response"]["records"] = "data[*]"
    with pytest.raises(spec.InvalidDefinition, match=r"response\.records"):
        spec.parse(bad)


def test_the_callout_sends_the_stored_secret_and_encodes_the_rest() -> None:
    class Store:
        def value(self, name: str) -> str:
            assert name == "tok"
            return "s3cr3t"

    d = spec.parse(registered(secret="tok", secret_prefix="Bearer "))
    url, headers, body = Callout(None, Store()).request(d, {"pid": "a/b", "q": "x y&z"})  # type: ignore[arg-type]
    assert url == "https://api.example.com/v1/people/a%2Fb?q=x%20y%26z"
    assert headers["Authorization"] == "Bearer s3cr3t" and body is None
    assert "s3cr3t" not in spec.definition_hash(d, "sha256") + str(spec.to_json(d))


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([step("a", after=["b"]), step("b", after=["a"])], "cycle"),
        ([step("a", params={"pid": "$.steps.a.data[0].id"})], "itself"),
        ([step("a", after=["zzz"])], "no step 'zzz'"),
        ([step("a", params={"pid": "$.steps.nope.data[0].id"})], "no step 'nope'"),
        ([step("a", params={"pid": "$.params.nope"})], "not one of the parameters"),
        ([step("a", params={"pid": "$.other"})], r"must start with \$\.params"),
        ([step("a", when="$.foo")], r"must start with \$\.params"),
        ([step("a"), step("a")], "used twice"),
        ([step("A")], "step id"),
        ([step(f"s{i}") for i in range(17)], "steps"),
        ([step(f"s{i}", after=[f"s{i - 1}"] if i else []) for i in range(9)], "chain of 9"),
    ],
)
def test_orchestration_graphs_refused(steps: list[dict], message: str) -> None:
    with pytest.raises(spec.InvalidDefinition, match=message):
        spec.parse(orchestrated(steps))


def test_a_chain_of_eight_is_accepted_and_output_must_name_a_step() -> None:
    chain = [step(f"s{i}", after=[f"s{i - 1}"] if i else []) for i in range(8)]
    assert len(spec.parse(orchestrated(chain)).steps) == 8
    with pytest.raises(spec.InvalidDefinition, match=r"output\.step"):
        spec.parse(orchestrated([step("a")], output={"step": "b", "fields": {"x": {"path": "$"}}}))


def test_records_are_typed_and_scoped_like_sql() -> None:
    fields = spec.ResponseMap.model_validate({"fields": {
        "id": {"path": "$.id", "type": "integer"}, "d": {"path": "$.d"},
        "n": {"path": "$.n", "type": "number"}}}).fields  # fmt: skip
    body = {"data": [{"id": "1", "d": "海淀区", "n": 5}, {"id": 2.5, "d": "朝阳区", "n": "x"},
                     {"id": 3, "d": "海淀区东", "n": {"a": 1}}, "not a record"]}  # fmt: skip
    columns, rows = records.mapped(body, "$.data[*]", fields)
    assert rows == [(1, "海淀区", 5.0), (None, "朝阳区", None), (3, "海淀区东", None)]
    types = {"id": "integer", "d": "string", "n": "number"}

    def keep(*preds: Predicate) -> list[tuple]:
        return records.scoped(columns, rows, preds, types)

    assert keep(Predicate("d", "eq", "海淀区")) == rows[:1]
    assert keep(Predicate("d", "prefix", "海淀")) == [rows[0], rows[2]]
    assert keep(Predicate("id", "in", [1, 2, 3])) == [rows[0], rows[2]]  # null is never in
    assert keep(Predicate("n", "range", {"gte": 1, "lt": 6})) == rows[:1]
    assert keep(Predicate("zzz", "eq", 1)) == []
    assert records.mapped({"id": 7}, "$", fields)[1] == [(7, None, None)]


def _graph(steps: list[dict]) -> spec.Orchestrated:
    d = spec.parse(orchestrated(steps))
    assert isinstance(d, spec.Orchestrated)
    return d


def test_independent_steps_run_in_parallel_and_conditions_skip() -> None:
    started: dict[str, asyncio.Event] = {}
    calls: list[tuple[str, dict]] = []

    async def call(s: spec.Step, args: dict[str, list[str]]) -> Any:
        calls.append((s.id, args))
        started[s.id].set()
        other = {"a": "b", "b": "a"}.get(s.id)
        if other:  # each waits for the other to have started: only parallel runs finish
            await asyncio.wait_for(started[other].wait(), 2)
        return {"data": [{"id": 41 if s.id == "a" else 1, "n": len(calls)}]}

    d = _graph([
        step("a", params={"pid": "$.params.district"}),
        step("b"),
        step("c", params={"pid": "$.steps.a.data[0].id"}, after=["b"]),
        step("skip", when={"path": "$.steps.b.data[0].id", "op": "gt", "value": 5}),
        step("after_skip", after=["skip"]),
        step("last", after=["c", "after_skip"]),
    ])  # fmt: skip

    async def go() -> Any:
        started.update({s.id: asyncio.Event() for s in d.steps})
        return await orchestrate.run(d, {"district": "海淀区"}, call)

    out = asyncio.run(go())
    order = [c[0] for c in calls]
    assert set(order[:2]) == {"a", "b"} and order[2:] == ["c"]  # skip, after_skip, last: no
    assert dict(calls)["a"] == {"pid": ["海淀区"]} and dict(calls)["c"] == {"pid": ["41"]}
    assert out is None  # "last" needs a skipped step, so it is skipped too


def test_a_step_over_its_timeout_ends_the_call() -> None:
    async def call(s: spec.Step, args: dict) -> Any:
        await asyncio.sleep(5)

    d = _graph([step("slow", timeout_s=0.05)])
    with pytest.raises(orchestrate.StepTimeout, match="slow"):
        asyncio.run(orchestrate.run(d, {}, call))


def test_api_secret_set_reads_the_value_from_stdin_and_lists_names_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from apis.cli import api
    from hub.client import PlatformClient

    sent: list[tuple] = []

    class Client:
        def request(self, method: str, path: str, **kw: Any) -> Any:
            sent.append((method, path, kw))
            return {"name": path.rsplit("/", 1)[-1], "state": "set"}

        def get(self, path: str, **params: Any) -> Any:
            sent.append(("GET", path, params))
            return ["stats-token"]

    monkeypatch.setattr(PlatformClient, "discover", classmethod(lambda cls, *a: Client()))
    result = CliRunner().invoke(api, ["secret", "set", "stats-token"], input="v@lue\n")
    assert result.exit_code == 0, result.output
    assert sent[0] == ("PUT", "/api-secrets/stats-token", {"json": {"value": "v@lue"}})
    assert "v@lue" not in result.output
    assert CliRunner().invoke(api, ["secret", "set", "stats-token", "v@lue"]).exit_code == 2
    listed = CliRunner().invoke(api, ["secret", "list"])
    assert listed.output.strip() == "stats-token"
