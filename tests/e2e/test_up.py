"""`trustlab up` from an empty home, exactly as `make up` runs it (100,000 demo rows, a
published 10,000-row masked sample on real Spark, demo accounts, Airflow with the demo
pipeline deployed, JupyterHub serving)."""

from __future__ import annotations

import json
import re

import httpx
from conftest import HubUnderTest

from sandbox.cli import DEMO_ACCOUNTS, DEMO_TRUTH


def test_up_from_empty_home(hub_under_test: HubUnderTest) -> None:
    first = hub_under_test.up
    assert "people" in first.stdout and "confirmed" in first.stdout
    published = re.search(
        r"published people\.sample v1: ([\d,]+) masked rows \(([\d,]+) suppressed for "
        r"k-anonymity, k=(\d+)\), leak gate passed",
        first.stdout,
    )
    assert published, first.stdout
    rows, suppressed, k = (int(g.replace(",", "")) for g in published.groups())
    assert rows + suppressed == 10_000 and suppressed < 100 and k >= 5
    # The classifier proposed every PII column right by itself: the demo corrected nothing.
    assert "correcting proposal" not in first.stdout
    password = hub_under_test.credentials["demo-dev"]
    assert f"log in as demo-dev / {password}" in first.stdout
    assert f"{hub_under_test.url}/" in first.stdout
    assert f"reviewer console: {hub_under_test.url}/services/trustlab-console/" in first.stdout

    info = json.loads(
        hub_under_test.as_user("demo-dev", "dataset", "show", "people", "--format", "json").stdout
    )
    assert info["owner"] == "civil-affairs"
    assert info["versions"][0]["rows"] is None  # CSV: no full parse at registration
    proposed = {c["name"]: (c["proposed"]["pii"], c["proposed"]["level"]) for c in info["columns"]}
    for column, (pii, level) in DEMO_TRUTH.items():
        assert proposed[column] == (pii, f"L{level}"), column
    non_pii = {c for c in proposed if c not in DEMO_TRUTH}
    assert non_pii == {"person_id", "gender", "district", "income"}
    assert all(proposed[c][0] == "none" for c in non_pii)
    quasi = {c["name"] for c in info["columns"] if c["quasi_identifier"]}
    assert {"gender", "district", "birth_date"} <= quasi

    after_up = json.loads(hub_under_test.ledger_after_up)
    assert [e["action"] for e in after_up] == [
        "org.create",
        "dataset.register",
        "dataset.confirm",
        "masking_policy.create",
        "masking_policy.update",  # income: the owner's decision for an L3 column
        "sample.publish",
        *["user.add"] * len(DEMO_ACCOUNTS),
        "project.create",
        "contract.import",  # the developer asks for people on standard terms
        "contract.approve",  # its owner's reviewer
        "contract.approve",  # the operator
        "contract.activate",
        # The demo pipeline goes through review like any other, then is deployed.
        "pipeline.submit",
        "pipeline.scan",
        "pipeline.dry_run",
        "pipeline.approve",
        "pipeline.approve",
        "pipeline.approved",
        "pipeline.deploy",
        # It runs once in production; its product is served and published as an API.
        "pipeline.trigger",
        "product.publish",
        "pipeline.run",
        "api.serve",
        "api.create",
        "api.submit",
        "api.approve",  # the operator only: the API returns no PII
        "api.publish",
        # A demo consumer application, its key and its contract (owner + operator).
        "application.create",
        "application.key",
        "contract.import",
        "contract.approve",
        "contract.approve",
        "contract.activate",
        # Demo annotators, a contract allowing labeling, and the demo labeling project.
        *["user.add"] * 3,
        "contract.import",
        "contract.approve",
        "contract.approve",
        "contract.activate",
        "label.project.create",
        # After the hub starts the suggestions service: connected to the demo project.
        "label.suggest",
    ]
    # Who did what: the host set the demo up; the review is the demo people's own.
    actors = {e["action"]: e["actor"] for e in after_up
              if e["action"].startswith(("pipeline.", "api."))}  # fmt: skip
    assert actors == {
        "pipeline.submit": "demo-dev",
        "pipeline.scan": "demo-dev",
        "pipeline.dry_run": "demo-dev",
        "pipeline.approve": "demo-operator",
        "pipeline.approved": "demo-operator",
        "pipeline.deploy": "demo-operator",
        "pipeline.trigger": "demo-operator",
        "pipeline.run": "production",
        "api.serve": "demo-operator",
        "api.create": "demo-dev",
        "api.submit": "demo-dev",
        "api.approve": "demo-operator",
        "api.publish": "demo-operator",
    }
    assert [e["actor"] for e in after_up if e["action"] == "pipeline.approve"] == [
        "demo-provider",
        "demo-operator",
    ]
    assert {
        e["actor"]
        for e in after_up
        if e["action"] in ("dataset.register", "user.add", "sample.publish")
    } == {"platform-host"}
    assert "Airflow UI: http://127.0.0.1:18300/" in first.stdout
    assert "demo pipeline district_income" in first.stdout and "deployed" in first.stdout
    # `make up` ends with one curl line that calls the demo API, and its Swagger page.
    consumer = hub_under_test.credentials["demo-consumer"]
    assert f"call the demo API:  {consumer['curl']}" in first.stdout
    assert f"its Swagger page:   {consumer['swagger']}" in first.stdout
    called = httpx.get(consumer["api"], params={"limit": 5}, timeout=10,
                       headers={"Authorization": f"Bearer {consumer['key']}"})  # fmt: skip
    assert called.status_code == 200, called.text
    districts = called.json()["data"]
    assert districts and all(d["avg_income"] % 100 == 0 for d in districts)  # rounded by contract
    swagger = httpx.get(consumer["swagger"], timeout=10)
    assert swagger.status_code == 200 and "swagger-ui-bundle.js" in swagger.text
    # A demo labeling project on Label Studio: each annotator's own login sees their tasks.
    ls = hub_under_test.credentials["label-studio"]
    assert f"Label Studio: {ls['url']}/" in first.stdout
    assert f"labeling project demo-ner: {rows:,} tasks (5 gold)" in first.stdout
    suggestions = f"http://127.0.0.77:{hub_under_test.PORTS['LABELING_ML_PORT']}"
    assert f"suggestions for demo-ner: {suggestions} (2 newly connected)" in first.stdout
    for annotator in ("demo-annotator-1", "demo-annotator-2"):
        web = httpx.Client(base_url=ls["url"], timeout=30)
        web.get("/user/login/")
        login = web.post("/user/login/", data={
            "email": ls[annotator]["email"], "password": ls[annotator]["password"],
            "csrfmiddlewaretoken": web.cookies.get("csrftoken", "")},
            headers={"Referer": f"{ls['url']}/user/login/"})  # fmt: skip
        assert login.status_code == 302, annotator
        mine = [p for p in web.get("/api/projects/").json()["results"]
                if p["title"] == f"demo-ner · {annotator}"]  # fmt: skip
        assert len(mine) == 1 and mine[0]["task_number"] == rows
        # trustlab's ML backend is connected there, for suggestions on demand.
        backends = web.get("/api/ml", params={"project": mine[0]["id"]}).json()
        assert [b["url"] for b in backends] == [suggestions], backends
    # The hub serves its login page and knows nothing the demo did not create.
    page = httpx.get(f"{hub_under_test.url}/hub/login", timeout=10)
    assert page.status_code == 200 and "password" in page.text.lower()


def test_up_again_changes_nothing(hub_under_test: HubUnderTest) -> None:
    log = ("audit", "log", "--format", "json", "--limit", "100000")
    before = json.loads(hub_under_test.as_user("demo-auditor", *log).stdout)
    again = hub_under_test.cli("up")
    assert again.returncode == 0, again.stderr
    assert "generated" not in again.stdout
    assert "already published" in again.stdout
    assert "JupyterHub already running" in again.stdout
    assert "Airflow already running" in again.stdout
    assert "Label Studio already running" in again.stdout
    assert "(0 newly connected)" in again.stdout
    assert "already deployed" in again.stdout
    assert json.loads(hub_under_test.as_user("demo-auditor", *log).stdout) == before
    assert hub_under_test.as_user("demo-auditor", "audit", "verify").returncode == 0
