"""What a consumer gets: its generated Python client calling the real gateway, snippets,
and schemathesis against each consumer's OpenAPI document (no 5xx, responses conform to
the document, no field outside the contract, no masked field in the clear)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from apis_world import World, app_contract, build, free_port, gateway
from click.testing import CliRunner

from apis.sdk import package_name
from hub.platform import Platform

pytestmark = pytest.mark.slow
PATH = "/apis/household-income/v1"
SCOPE = "海淀区"
ACME = "acme-insights"  # masked names and phones, one district
BETA = "beta-stats"  # names, phones and income hidden, every district
ACME_FIELDS = {"record_id", "district", "income", "members", "holder_name", "holder_phone"}
BETA_FIELDS = {"record_id", "district", "members"}
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


@pytest.fixture
def world(platform: Platform) -> Iterator[tuple[World, str]]:
    """The shared world, its contract replaced by one whose quota a fuzzing run cannot
    exhaust, and a second application whose contract hides fields instead of masking."""
    w = build(platform)
    w.contracts().set_state("HT-API-001", "olga", "revoke", "replaced by HT-API-010")
    w.activate(app_contract(ref="HT-API-010", quota_per_day=1_000_000))
    w.apps().create(BETA, "Beta Statistics", "olga")
    beta_key = w.apps().issue_key(BETA, "olga")["key"]
    fields = dict.fromkeys(BETA_FIELDS, "clear")
    w.activate(app_contract(ref="HT-API-020", app=BETA, fields=fields, row_scope=[],
                            quota_per_day=1_000_000))  # fmt: skip
    yield w, beta_key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


CALLS = """
import json, os, sys
from {package} import AuthenticatedClient
from {package}.api.household_income_v1 import get_household_income_v1, list_household_income_v1

client = AuthenticatedClient(base_url=sys.argv[1], token=os.environ["TRUSTLAB_API_KEY"])
page = list_household_income_v1.sync(client=client, limit=20, income_gte=1000.0)
one = get_household_income_v1.sync(key=int(sys.argv[2]), client=client)
outside = get_household_income_v1.sync_detailed(key=int(sys.argv[3]), client=client)
print(json.dumps({{"page": page.to_dict(), "one": one.to_dict(),
                   "outside": outside.status_code.value}}, ensure_ascii=False))
"""


def unpacked(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(into)
    (project,) = into.iterdir()
    return project


def run_python(code: str, project: Path, key: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project), "TRUSTLAB_API_KEY": key}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=project)  # fmt: skip


def test_a_consumers_generated_client_calls_its_api(
    world: tuple[World, str], cli_env: dict[str, str], tmp_path: Path
) -> None:
    w, _ = world
    by_id = {r["record_id"]: r for r in w.data}
    inside = next(r for r in w.data if r["district"] == SCOPE)
    outside = next(r for r in w.data if r["district"] != SCOPE)
    package = package_name(ACME)
    with gateway(cli_env) as gw:
        assert gw.get("/consumer/client.zip").status_code == 401
        r = gw.get("/consumer/client.zip", headers=auth(w.key))
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        project = unpacked(r.content, tmp_path / "client")
        assert (project / package / "__init__.py").exists()
        assert (project / "pyproject.toml").exists()
        again = gw.get("/consumer/client.zip", headers=auth(w.key))
        assert again.content == r.content  # from the cache: one document, one client
        assert len(list((w.platform.settings.home / "cache" / "api-clients").iterdir())) == 1

        base = str(gw.base_url)
        done = run_python(CALLS.format(package=package), project, w.key, base,
                          str(inside["record_id"]), str(outside["record_id"]))  # fmt: skip
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        items = answer["page"]["data"]
        assert len(items) == 20
        for item in [*items, answer["one"]]:
            raw = by_id[item["record_id"]]
            assert set(item) == ACME_FIELDS
            assert item["district"] == SCOPE and item["income"] == raw["income"]
            assert item["holder_name"][0] == raw["holder_name"][0] != item["holder_name"]
            assert re.fullmatch(r"tk_[a-p]{32}", item["holder_phone"])
        assert answer["one"]["record_id"] == inside["record_id"]
        assert answer["outside"] == 404  # outside the row scope: nothing

        # the snippets run as written, with the key from the environment only
        snips = gw.get("/consumer/snippets", headers=auth(w.key))
        assert snips.status_code == 200 and w.key not in snips.text
        ops = snips.json()["operations"]
        assert {o["operation_id"] for o in ops} == {"list_household_income_v1",
                                                    "get_household_income_v1"}  # fmt: skip
        for op in ops:
            assert "$TRUSTLAB_API_KEY" in op["curl"] and op["curl"].startswith("curl ")
            done = run_python(op["python_client"], project, w.key)
            assert done.returncode == 0, (op["python_client"], done.stderr)
        listing = next(o for o in ops if o["operation_id"].startswith("list_"))
        done = run_python(listing["python_httpx"], project, w.key)
        assert done.returncode == 0 and "'data'" in done.stdout, done.stderr

        page = gw.get(f"{PATH}/snippets")  # the API's page: no key, no client
        assert page.status_code == 200
        assert all("python_client" not in o and "curl" in o for o in page.json()["operations"])


def test_an_operator_gets_the_same_client_through_the_platform_api(
    world: tuple[World, str], cli_env: dict[str, str], tmp_path: Path
) -> None:
    import uvicorn

    from apis.cli import app as app_cli
    from hub.api.app import PREFIX, create_app

    w, _ = world
    users = {"olga-token": "olga", "dana-token": "dana"}
    api = create_app(w.platform, identify=lambda t: {"kind": "user", "name": users[t]}
                     if t in users else None)  # fmt: skip
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        env = {"TRUSTLAB_API_URL": f"http://127.0.0.1:{port}{PREFIX.rstrip('/')}",
               "TRUSTLAB_TOKEN": "olga-token"}  # fmt: skip
        result = CliRunner().invoke(app_cli, ["client", ACME, "-o", str(tmp_path / "c")], env=env)
        assert result.exit_code == 0, result.output
        assert "trustlab_acme_insights_client" in result.output
        files = {p.relative_to(tmp_path / "c").as_posix() for p in (tmp_path / "c").rglob("*.py")}
        assert "trustlab-acme-insights-client/trustlab_acme_insights_client/client.py" in files
        refused = CliRunner().invoke(app_cli, ["client", ACME, "-o", str(tmp_path / "d")],
                                     env={**env, "TRUSTLAB_TOKEN": "dana-token"})  # fmt: skip
        assert refused.exit_code != 0 and "operator" in str(refused.output + str(refused.exception))
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    # the gateway serves that application the same document, hence the same client
    with gateway(cli_env) as gw:
        zipped = gw.get("/consumer/client.zip", headers=auth(w.key)).content
    with zipfile.ZipFile(io.BytesIO(zipped)) as z:
        for name in z.namelist():
            assert z.read(name).decode() == (tmp_path / "c" / name).read_text(), name


# --- schemathesis, per consumer ----------------------------------------------------------------


def fuzz(gw: httpx.Client, key: str, out: Path) -> list[dict[str, Any]]:
    """schemathesis, every check, every phase (stateful through the document's links),
    against the key's consumer document; the exchanges it recorded (HAR entries)."""
    out.mkdir()
    doc = gw.get("/consumer/openapi.json", headers=auth(key))
    assert doc.status_code == 200
    (out / "openapi.json").write_text(doc.text)
    har = out / "run.har"
    done = subprocess.run(
        [SCHEMATHESIS, "run", str(out / "openapi.json"), "--url", str(gw.base_url),
         "-H", f"Authorization: Bearer {key}", "--checks", "all",
         "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "40",
         "--seed", "20261201", "--generation-database", "none", "--no-color",
         "--report", "har", "--report-har-path", str(har)],
        capture_output=True, text=True, timeout=300, cwd=out,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert re.search(r"Stateful.*\n\n\s+Scenarios:\s+[1-9]", done.stdout), done.stdout[-3000:]
    return json.loads(har.read_text())["log"]["entries"]


def answers(entries: list[dict[str, Any]]) -> Iterator[tuple[str, int, str]]:
    for e in entries:
        yield (
            urlsplit(e["request"]["url"]).path,
            e["response"]["status"],
            (e["response"]["content"].get("text") or ""),
        )


def rows_of(path: str, body: str) -> list[dict[str, Any]]:
    payload = json.loads(body)
    return payload["data"] if path == PATH else [payload]


def test_schemathesis_finds_nothing_for_either_consumer(
    world: tuple[World, str], cli_env: dict[str, str], tmp_path: Path
) -> None:
    w, beta_key = world
    by_id = {r["record_id"]: r for r in w.data}
    secrets = [r["holder_phone"] for r in w.data] + [r["holder_name"] for r in w.data]
    with gateway(cli_env) as gw:
        acme = fuzz(gw, w.key, tmp_path / "acme")
        beta = fuzz(gw, beta_key, tmp_path / "beta")
    for entries, fields in ((acme, ACME_FIELDS), (beta, BETA_FIELDS)):
        seen = {"list": 0, "key": 0}
        for path, status, body in answers(entries):
            assert status < 500, (path, body)
            leaked = [s for s in secrets if s in body]
            assert not leaked, (path, leaked[:3])  # no raw name or phone, in any answer
            if status != 200:
                continue
            for item in rows_of(path, body):
                assert set(item) == fields, (path, sorted(item))
                seen["list" if path == PATH else "key"] += 1
                raw = by_id[item["record_id"]]
                if fields is ACME_FIELDS:
                    assert item["district"] == SCOPE, (path, item)
                    assert item["holder_name"] != raw["holder_name"]
                    assert re.fullmatch(r"tk_[a-p]{32}", item["holder_phone"]), item
                else:
                    assert item["members"] == raw["members"]
        assert seen["list"] > 0 and seen["key"] > 0, seen  # the checks saw real rows
    districts = {i["district"] for p, s, b in answers(beta) if s == 200 for i in rows_of(p, b)}
    assert len(districts) > 1  # beta has no row scope: rows from several districts
