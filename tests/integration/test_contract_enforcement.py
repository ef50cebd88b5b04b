"""Contracts enforced on the real hub, Docker sandboxes and Airflow (``trustlab up``'s).

A sandbox sees only the contracted columns; a contract that expires while a sandbox runs
stops it within a minute and pauses the deployment that reads its data; a run beyond the
daily limit is refused; the renewal restores access. The demo project's own contract is
suspended meanwhile (so the short contract is the only cover) and resumed afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hub.enforce import notice
from hub.models import Contract, ContractUsage
from hub.platform import Platform
from pipelines.models import Deployment
from sandbox.cli import DEMO_NAME, DEMO_OWNER

DEMO_PIPELINE = "district_income"


def ok(done: Any) -> str:
    assert done.returncode == 0, f"{done.args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def document(ref: str, project: str, columns: Any, until: datetime,
             modes: list[str], limits: dict[str, int] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "schema": "trustlab.contract/1", "ref": ref, "title": f"{ref} (test)",
        "parties": {"providers": [DEMO_OWNER], "user": {"kind": "project", "name": project}},
        "objects": [{"dataset": DEMO_NAME, "columns": columns, "modes": modes}],
        "purpose": {"category": "research", "text": "contract enforcement test"},
        "valid_from": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "valid_until": until.isoformat(), "limits": limits or {},
    }  # fmt: skip


def activate(hub: Any, tmp: Path, doc: dict[str, Any]) -> dict[str, Any]:
    path = tmp / f"{doc['ref']}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    ok(hub.as_user("demo-operator", "contract", "import", str(path)))
    ok(hub.as_user("demo-provider", "contract", "approve", doc["ref"]))
    return json.loads(ok(hub.as_user("demo-operator", "contract", "approve", doc["ref"],
                                     "--format", "json")))  # fmt: skip


def until(what: str, check: Callable[[], Any], seconds: float = 90) -> Any:
    """Poll ``check`` until it is truthy; the monitor acts within a minute (its tick in these
    tests is 5 s), so ``seconds`` is a timeout, not a measurement."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} did not happen within {seconds:.0f} s")


def run(kernel: Any, code: str) -> str:
    out = kernel.execute(code)
    assert out["status"] == "ok", out
    return out["stdout"].strip()


def db(hub: Any, query: Any) -> Any:
    p = Platform(hub.settings)
    try:
        with p.db.session() as session:
            return query(session)
    finally:
        p.close()


def spawn_page(hub: Any, user: str) -> str:
    """The hub's spawn page as ``user`` sees it in a browser (a real password login)."""
    import httpx

    with httpx.Client(base_url=hub.url, follow_redirects=True, timeout=60) as web:
        login = web.get("/hub/login")
        xsrf = web.cookies.get("_xsrf") or ""
        web.post("/hub/login", data={"username": user, "password": hub.password(user),
                                     "_xsrf": xsrf})  # fmt: skip
        assert login.status_code == 200
        page = web.get("/hub/spawn")
        assert page.status_code == 200, page.text[:500]
        return page.text


def server_running(hub: Any, user: str) -> bool:
    with hub.api() as api:
        return bool(api.get(f"/users/{user}").json()["servers"])


def test_a_sandbox_sees_only_the_contracted_columns(hub_under_test: Any, tmp_path: Path) -> None:
    hub = hub_under_test
    hub.add_user("narrow-dev", "developer")
    ok(hub.as_user("demo-operator", "project", "create", "narrow", "--member", "narrow-dev"))
    schema = json.loads(ok(hub.as_user("demo-dev", "dataset", "show", DEMO_NAME, "--format",
                                       "json")))["columns"]  # fmt: skip
    every = [c["name"] for c in schema]
    allowed = [every[-1], every[1]]  # not in the dataset's order, not the first column
    activate(hub, tmp_path, document("HT-narrow", "narrow", allowed,
                                     datetime.now(UTC) + timedelta(days=1), ["sandbox"]))  # fmt: skip
    resp = hub.spawn("narrow-dev", project="narrow")
    assert resp.status_code in (201, 202), resp.text
    kernel = hub.kernel("narrow-dev")
    try:
        seen = json.loads(run(kernel, f"""
import json, os
from sandbox.runtime import load
df = load({DEMO_NAME!r}, engine="pandas")
print(json.dumps({{"columns": list(df.columns), "rows": len(df),
                  "files": sorted(os.listdir("/data/samples/{DEMO_NAME}"))}}))"""))  # fmt: skip
    finally:
        kernel.close()
        hub.stop("narrow-dev")
    assert seen["columns"] == [c for c in every if c in allowed] and seen["rows"] > 0
    assert all(f.startswith("part-") for f in seen["files"]), seen["files"]
    spawn = [s for s in hub.ledger("sandbox.spawn") if s["actor"] == "narrow-dev"][-1]
    assert spawn["payload"]["mounts"][0]["columns"] == seen["columns"]
    assert spawn["payload"]["mounts"][0]["contracts"] == ["HT-narrow"]


def test_expiry_stops_sandboxes_pauses_deployments_and_renewal_restores(
    hub_under_test: Any, tmp_path: Path
) -> None:
    hub = hub_under_test
    dag = db(hub, lambda s: s.scalar(select(Deployment.dag_id).where(
        Deployment.name == DEMO_PIPELINE, Deployment.state == "active")))  # fmt: skip
    assert dag, "trustlab up deploys the demo pipeline"
    ends = datetime.now(UTC) + timedelta(seconds=45)
    short = document("HT-short", "demo", "*", ends, ["sandbox", "pipeline"])
    activate(hub, tmp_path, short)
    demo = next(c["ref"] for c in json.loads(ok(hub.as_user(
        "demo-operator", "contract", "list", "--party", "demo", "--format", "json")))
        if c["ref"] != "HT-short" and c["in_force"])  # fmt: skip
    ok(hub.as_user("demo-operator", "contract", "suspend", demo, "--reason", "test: cover "
                   "demo with the short contract only"))  # fmt: skip
    try:
        hub.add_user("expiry-dev", "developer")
        ok(hub.as_user("demo-operator", "project", "add-member", "demo", "expiry-dev"))
        resp = hub.spawn("expiry-dev", project="demo")
        assert resp.status_code in (201, 202), resp.text
        until(
            "the sandbox stopping after the expiry",
            lambda: not server_running(hub, "expiry-dev"),
            seconds=45 + 60,
        )
        stopped = [e for e in hub.ledger("sandbox.enforce") if e["subject"] == "user:expiry-dev"]
        assert stopped and "HT-short" in stopped[-1]["payload"]["reason"]
        assert [e for e in hub.ledger("contract.expire") if e["subject"] == "contract:HT-short"]
        p = Platform(hub.settings)
        try:
            said = notice(p, "expiry-dev")
        finally:
            p.close()
        assert said and "HT-short" in said
        assert "HT-short" in spawn_page(hub, "expiry-dev")  # the hub tells them why
        paused = until(
            "the deployment pausing",
            lambda: [
                e for e in hub.ledger("pipeline.deployment.pause") if e["payload"]["dag_id"] == dag
            ],
        )
        assert DEMO_NAME in paused[-1]["payload"]["reason"]
        assert is_paused(hub, dag) is True
        refused = hub.as_user("demo-operator", "pipeline", "trigger", DEMO_PIPELINE, "--wait")
        assert refused.returncode != 0
        assert hub.spawn("expiry-dev", project="demo").status_code == 403
        # the renewal, with one run a day: the deployment resumes, one run, the next refused
        renewed = {**short, "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                   "limits": {"runs_per_day": 1}}  # fmt: skip
        activate(hub, tmp_path, renewed)
        until(
            "the deployment resuming",
            lambda: [
                e for e in hub.ledger("pipeline.deployment.resume") if e["payload"]["dag_id"] == dag
            ],
        )
        assert is_paused(hub, dag) is False
        # (a scheduled run Airflow makes on resuming would count too: so two triggers)
        codes = [hub.as_user("demo-operator", "pipeline", "trigger", DEMO_PIPELINE,
                             "--wait").returncode for _ in range(2)]  # fmt: skip
        assert codes[-1] != 0, codes
        limit = [e for e in hub.ledger("pipeline.run.refused")
                 if (e["payload"].get("contract") or {}).get("reason") == "limit"]  # fmt: skip
        assert limit and limit[-1]["payload"]["contract"]["contract"] == "HT-short"
        runs = db(
            hub,
            lambda s: s.scalar(
                select(func.sum(ContractUsage.runs))
                .join(Contract, Contract.id == ContractUsage.contract_id)
                .where(Contract.ref == "HT-short")
            ),
        )
        assert runs == 1, "one run counted against the limit; the refused one not at all"
        resp = hub.spawn("expiry-dev", project="demo")
        assert resp.status_code in (201, 202), resp.text
        hub.stop("expiry-dev")
    finally:
        ok(hub.as_user("demo-operator", "contract", "resume", demo, "--reason", "test done"))
        ok(hub.as_user("demo-operator", "contract", "revoke", "HT-short", "--reason",
                       "test done"))  # fmt: skip


def is_paused(hub: Any, dag: str) -> bool:
    from hub.settings import Settings
    from pipelines.airflowctl import Airflow

    settings = Settings(home=hub.home, airflow_port=hub.PORTS["AIRFLOW_PORT"])
    return bool(Airflow(settings).client().dag(dag)["is_paused"])
