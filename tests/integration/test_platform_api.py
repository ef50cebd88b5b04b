"""The platform API on a real JupyterHub: identity comes from hub tokens only, and every
role rule holds through the API, allowed and refused, on SQLite and on PostgreSQL.

Each lane is one hub with its own metadata DB (``api_platform``); the accounts and data of
this module are made once per lane by its first admin, through the API.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.client import ApiRefused

pytestmark = [pytest.mark.sandbox]

CSV = "纳税人识别号,name,mobile,district,income\n" + "".join(
    f"TX-{i:06d},张{'伟芳娜敏静'[i % 5]}{'一二三'[i % 3]},1380013{i:04d},"
    f"{'西湖区' if i % 2 else '滨江区'},{1000 + i * 7}\n"
    for i in range(60)
)
TOML = """
name = "{name}"
inputs = ["taxpayers"]
outputs = ["{name}_out"]

[expectations.{name}_out]
min_rows = 1
"""
CODE = """
from pyspark.sql import functions as F


def run(ctx):
    people = ctx.read("taxpayers")
    ctx.write("{name}_out", people.groupBy("district").agg(F.count("*").alias("n")))
"""


def folder(tmp: Path, name: str, extra: str = "") -> Path:
    out = tmp / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.toml").write_text(textwrap.dedent(TOML.format(name=name)))
    (out / "main.py").write_text(textwrap.dedent(CODE.format(name=name)) + extra)
    return out


def refused(call: Any, status: int = 403) -> str:
    with pytest.raises(ApiRefused) as caught:
        call()
    assert caught.value.status == status, caught.value
    return str(caught.value)


@pytest.fixture(scope="module")
def world(api_platform: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Accounts of every role, a dataset of tax-bureau with a confirmed classification, a
    project with a contract for it in force, and a published sample — all made through the
    API."""
    hub = api_platform
    tmp = tmp_path_factory.mktemp(f"world-{hub.lane}")
    for name, role in [("ops", "operator"), ("aud", "auditor"), ("dev1", "developer"),
                       ("dev2", "developer")]:  # fmt: skip
        hub.add_user(name, role)
    (tmp / "taxpayers.csv").write_text(CSV, encoding="utf-8")
    (tmp / "trips.csv").write_text("trip,line\n1,a\n2,b\n")
    ops = hub.client("ops")
    ops.post("/datasets", {"source": str(tmp / "taxpayers.csv"), "name": "taxpayers",
                           "owner": "tax-bureau"})  # fmt: skip
    ops.post("/datasets", {"source": str(tmp / "trips.csv"), "name": "trips",
                           "owner": "transport"})  # fmt: skip
    hub.add_user("prov", "provider", org="tax-bureau")
    hub.add_user("prov2", "provider", org="transport")
    prov = hub.client("prov")
    prov.post("/datasets/taxpayers/columns/name", {"pii": "name", "level": "L3"})
    prov.post("/datasets/taxpayers/confirm")
    # income is financial (PIPL sensitive, L3) and the taxpayer number is L2 tax business
    # data: default deny until their owner decides.
    prov.post("/samples/taxpayers/policy/income", {"rule": "numeric_bucket",
                                                   "params": {"width": 1000}})  # fmt: skip
    prov.post("/samples/taxpayers/policy/纳税人识别号", {"rule": "pseudonym"})
    ops.post("/projects", {"name": "lab", "members": ["dev1"]})
    ref = hub.client("dev1").post("/contracts/request", {"project": "lab",
                                                        "dataset": "taxpayers"})["ref"]  # fmt: skip
    prov.post(f"/contracts/{ref}/approve")
    assert ops.post(f"/contracts/{ref}/approve")["state"] == "active"
    hub.tmp = tmp
    return hub


def test_identity_is_the_token_owner(world: Any) -> None:
    for name, role in [("dev1", "developer"), ("prov", "provider:tax-bureau"),
                       ("aud", "auditor")]:  # fmt: skip
        me = world.client(name).whoami()
        assert me["name"] == name and me["roles"] == [role]
    shown = world.as_user("dev1", "whoami")
    assert shown.returncode == 0 and shown.stdout.startswith("dev1: roles developer")
    # There is no way to name someone else: the option does not exist.
    other = world.as_user("dev1", "pipeline", "approve", "0" * 12, "--user", "prov")
    assert other.returncode == 2 and "No such option '--user'" in other.stderr


def test_missing_garbage_revoked_and_expired_tokens_are_refused(world: Any) -> None:
    api = f"{world.url}/services/trustlab-api"
    assert httpx.get(f"{api}/me", timeout=30).status_code == 401
    garbage = httpx.get(f"{api}/me", headers={"Authorization": "token nope"}, timeout=30)
    assert garbage.status_code == 401 and "expired or revoked" in garbage.json()["detail"]
    cli = world.cli("whoami", token="not-a-token")
    assert cli.returncode == 2 and cli.stderr.count("\n") == 1 and "trustlab login" in cli.stderr
    nobody = world.cli("whoami")
    assert nobody.returncode == 2 and "not logged in" in nobody.stderr

    def token(expires: int, scopes: list[str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"auth": {"username": "dev2", "password": world.password("dev2")},
                                "expires_in": expires}  # fmt: skip
        if scopes is not None:
            body["scopes"] = scopes
        resp = httpx.post(f"{world.url}/hub/api/users/dev2/tokens", timeout=30, json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    revoked = token(3600, ["access:services!service=trustlab-api"])
    headers = {"Authorization": f"token {revoked['token']}"}
    assert httpx.get(f"{api}/me", headers=headers, timeout=30).status_code == 200
    own = {"Authorization": f"token {token(600, None)['token']}"}  # dev2's full token
    gone = httpx.delete(f"{world.url}/hub/api/users/dev2/tokens/{revoked['id']}", headers=own,
                        timeout=30)  # fmt: skip
    assert gone.status_code == 204, gone.text
    deadline = time.monotonic() + 60  # HubAuth caches an identity for up to 30 s
    while httpx.get(f"{api}/me", headers=headers, timeout=30).status_code != 401:
        assert time.monotonic() < deadline, "a revoked token kept working"
        time.sleep(2)
    expiring = token(1, ["access:services!service=trustlab-api"])
    time.sleep(2)
    late = httpx.get(f"{api}/me", headers={"Authorization": f"token {expiring['token']}"},
                     timeout=30)  # fmt: skip
    assert late.status_code == 401


def test_service_tokens_and_tokens_without_the_api_scope_are_refused(world: Any) -> None:
    api = f"{world.url}/services/trustlab-api"
    service = httpx.get(f"{api}/me", headers={"Authorization": f"token {world.token}"},
                        timeout=30)  # fmt: skip
    assert service.status_code == 403 and "service token" in service.json()["detail"]
    resp = httpx.post(f"{world.url}/hub/api/users/dev1/tokens", timeout=30, json={
        "auth": {"username": "dev1", "password": world.password("dev1")},
        "scopes": ["read:users:name!user"]})  # fmt: skip
    narrow = resp.json()["token"]
    denied = httpx.get(f"{api}/me", headers={"Authorization": f"token {narrow}"}, timeout=30)
    assert denied.status_code == 403 and "access:services" in denied.json()["detail"]


def test_user_and_project_administration(world: Any) -> None:
    admin, ops, dev1 = world.client("root-admin"), world.client("ops"), world.client("dev1")
    assert "admin" in refused(lambda: ops.post("/users", {"name": "x1", "roles": ["developer"]}))
    made = admin.post("/users", {"name": "x1", "roles": ["developer"]})
    assert made["roles"] == ["developer"] and len(made["password"]) >= 12
    world.passwords["x1"] = made["password"]
    refused(lambda: dev1.post("/projects", {"name": "mine"}))
    ops.post("/projects", {"name": "p2", "members": []})
    refused(lambda: dev1.post("/projects/p2/members", {"user": "dev1"}))
    assert ops.post("/projects/p2/members", {"user": "x1"})["members"] == ["x1"]
    refused(lambda: dev1.get("/projects/p2"))  # not a member
    assert [p["name"] for p in dev1.get("/projects")] == ["lab"]
    refused(lambda: world.client("dev2").post("/contracts/request",
                                              {"project": "lab", "dataset": "trips"}))  # fmt: skip
    refused(lambda: dev1.get("/users"))
    assert {u["name"] for u in world.client("aud").get("/users")} >= {"dev1", "ops", "x1"}


def test_classification_is_the_owners_decision(world: Any) -> None:
    for who, other in (("ops", "prov2"), ("dev1", "dev1"), ("prov", "ops")):
        refused(lambda w=who: world.client(w).post("/datasets/trips/confirm"))
        refused(lambda w=other: world.client(w).post(
            "/datasets/taxpayers/columns/mobile", {"level": "L4"}))  # fmt: skip
    prov2 = world.client("prov2")
    assert prov2.post("/datasets/trips/confirm")["confirmed_by"] == "prov2"
    assert world.client("dev1").get("/datasets/trips")["classification_status"] == "confirmed"


def test_contracts_need_the_owner_and_an_operator(world: Any) -> None:
    ops, dev1 = world.client("ops"), world.client("dev1")
    (world.tmp / "buses.csv").write_text("line,stop\n1,a\n")
    ops.post("/datasets", {"source": str(world.tmp / "buses.csv"), "name": "buses",
                           "owner": "transport"})  # fmt: skip
    unconfirmed = {"project": "lab", "dataset": "buses"}
    assert "confirmed classification" in refused(
        lambda: dev1.post("/contracts/request", unconfirmed), 400)  # fmt: skip
    ref = dev1.post("/contracts/request", {"project": "lab", "dataset": "trips"})["ref"]
    for who in ("prov", "dev1", "aud"):  # another owner's reviewer, the asker, an auditor
        refused(lambda w=who: world.client(w).post(f"/contracts/{ref}/approve"))
    assert ops.post(f"/contracts/{ref}/approve")["state"] == "draft"  # one of two parties
    refused(lambda: ops.post(f"/contracts/{ref}/approve"))  # the same person cannot be both
    decided = world.client("prov2").post(f"/contracts/{ref}/reject",
                                         {"reason": "not for this purpose"})  # fmt: skip
    assert decided["state"] == "rejected" and not decided["in_force"]
    listed = {c["ref"]: c["state"] for c in ops.get("/projects/lab")["contracts"]}
    assert listed[ref] == "rejected"
    entries = world.client("aud").get("/audit/entries", subject=f"contract:{ref}", limit=20)
    assert [e["action"] for e in entries] == ["contract.import", "contract.approve",
                                              "contract.reject"]  # fmt: skip


def test_masking_policy_and_sample_build(world: Any) -> None:
    dev1, prov, ops = world.client("dev1"), world.client("prov"), world.client("ops")
    refused(lambda: dev1.post("/samples/taxpayers/policy/district", {"rule": "keep"}))
    refused(lambda: ops.post("/samples/taxpayers/policy/district", {"rule": "keep"}))
    refused(lambda: prov.post("/samples/taxpayers/policy-decision/approve", {}))
    refused(lambda: world.client("prov2").post("/samples/taxpayers/build", {"rows": 40}))
    assert prov.post("/samples/taxpayers/policy/district", {"rule": "keep"})["version"] >= 1
    built = ops.post("/samples/taxpayers/build", {"rows": 40})
    assert built["status"] == "published" and built["gate"]["passed"] is True
    assert dev1.get("/samples/taxpayers/policy")["rules"]["name"]["rule"] != "keep"


def test_sample_cli_policy_and_build(world: Any) -> None:
    import pandas as pd

    rules = world.cli("sample", "rules")  # static: needs no token
    assert rules.returncode == 0 and "id_keep6_4" in rules.stdout
    setp = world.as_user("prov", "sample", "policy", "set", "taxpayers", "--column", "income",
                         "--rule", "numeric_bucket", "--param", "width=500")  # fmt: skip
    assert setp.returncode == 0, setp.stderr
    shown = world.as_user("dev1", "sample", "policy", "show", "taxpayers", "--format", "json")
    assert json.loads(shown.stdout)["rules"]["income"]["params"] == {"width": 500}
    built = world.as_user("ops", "sample", "build", "taxpayers", "--rows", "30", "--seed", "9")
    assert built.returncode == 0, built.stderr
    assert "published taxpayers.sample v" in built.stdout and "leak gate passed" in built.stdout
    latest = world.client("ops").get("/datasets/taxpayers.sample")["versions"][-1]
    assert (pd.read_parquet(latest["location"])["income"] % 500 == 0).all()
    bad = world.as_user("ops", "sample", "build", "taxpayers", "--rows", "0")
    assert bad.returncode == 2 and "rows" in bad.stderr and bad.stderr.count("error:") == 1
    unknown = world.as_user("ops", "sample", "build", "ghost")
    assert unknown.returncode == 2 and "no dataset named" in unknown.stderr
    denied = world.as_user("dev1", "sample", "build", "taxpayers")
    assert denied.returncode == 2 and "provider reviewer of 'tax-bureau'" in denied.stderr


def test_scan_cli_json_and_exit_codes(world: Any) -> None:
    ok = folder(world.tmp, "scan_ok")
    bad = folder(world.tmp, "scan_bad", "\nimport socket\n")
    clean = world.as_user("dev2", "pipeline", "scan", str(ok), "--format", "json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout) == {"blocked": False, "findings": []}
    blocked = world.as_user("dev2", "pipeline", "scan", str(bad), "--format", "json")
    assert blocked.returncode == 1
    report = json.loads(blocked.stdout)
    assert report["blocked"] is True
    assert [(f["rule"], f["severity"], f["file"], f["message"]) for f in report["findings"]] == [
        ("NET001", "high", "main.py", "imports socket")]  # fmt: skip
    missing = world.as_user("dev2", "pipeline", "scan", str(world.tmp / "nothing"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_submission_needs_membership_and_contracted_inputs(world: Any) -> None:
    from pipelines.upload import pack

    body = {**pack(folder(world.tmp, "by_district")), "project": "lab"}
    refused(lambda: world.client("dev2").post("/pipelines/versions", body))  # not a member
    refused(lambda: world.client("ops").post("/pipelines/versions", body))  # not a developer
    other = folder(world.tmp, "trips_count").joinpath("pipeline.toml")
    other.write_text(other.read_text().replace('["taxpayers"]', '["trips"]'))
    message = refused(lambda: world.client("dev1").post(
        "/pipelines/versions", {**pack(other.parent), "project": "lab"}))  # fmt: skip
    assert "no contract in force that allows pipeline use of 'trips'" in message
    done = world.as_user("dev1", "pipeline", "submit", str(body_folder := world.tmp /
                         "by_district"), "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["submitted_by"] == "dev1" and status["project"] == "lab"
    assert status["state"] == "scanned" and body_folder.exists()
    submits = world.client("aud").get("/audit/entries", action="pipeline.submit", limit=50)
    assert any(e["actor"] == "dev1" and e["payload"]["version"] == status["version"]
               for e in submits)  # fmt: skip


def test_review_roles_through_the_api(world: Any) -> None:
    dev1, ops, prov = world.client("dev1"), world.client("ops"), world.client("prov")
    from pipelines.client import submit

    env_finding = "\nimport os\nHOME = os.getenv('HOME')\n"
    v = submit(dev1, folder(world.tmp, "reviewed", env_finding), "lab")
    assert v["state"] == "blocked"
    line = next(f["line"] for f in v["scan"]["findings"] if f["rule"] == "ENV001")
    waiver = {"rule": "ENV001", "file": "main.py", "line": line,
              "reason": "reads HOME only, harmless"}  # fmt: skip
    refused(lambda: dev1.post(f"/pipelines/versions/{v['version']}/waivers", waiver))
    waived = ops.post(f"/pipelines/versions/{v['version']}/waivers", waiver)
    assert waived["state"] == "scanned"
    refused(lambda: world.client("dev2").post(f"/pipelines/versions/{v['version']}/dry-run"))
    dry = dev1.post(f"/pipelines/versions/{v['version']}/dry-run")
    assert dry["state"] == "in_review", dry["dry_run"]["problems"]
    for who in ("dev1", "prov2", "aud"):  # the submitter, another owner, no reviewer role
        refused(lambda w=who: world.client(w).post(f"/pipelines/versions/{v['version']}/approve"))
    prov.post(f"/pipelines/versions/{v['version']}/approve")
    done = ops.post(f"/pipelines/versions/{v['version']}/approve")
    assert done["state"] == "approved"
    assert {(r["role"], r["reviewer"]) for r in done["reviews"]} == {
        ("provider", "prov"), ("operator", "ops")}  # fmt: skip
    for path in (f"/pipelines/versions/{v['version']}/deploy", "/pipelines/reviewed/trigger",
                 "/pipelines/reviewed/retire"):  # fmt: skip
        assert "operator" in refused(lambda p=path: dev1.post(p))
    assert [r["name"] for r in dev1.get("/pipelines/versions")] != []
    refused(lambda: world.client("x1").get(f"/pipelines/versions/{v['version']}"))


def test_audit_reads_and_refusals_are_ledgered(world: Any) -> None:
    aud, dev1, ops = world.client("aud"), world.client("dev1"), world.client("ops")
    refused(lambda: dev1.get("/audit/verify"))
    refused(lambda: aud.post("/audit/checkpoint"))
    assert "tree_size" in ops.post("/audit/checkpoint")
    report = aud.get("/audit/verify")
    assert report["ok"] and report["covered_by_checkpoint"] == report["entries"]
    refusals = aud.get("/audit/entries", action="access.refused", limit=1000)
    assert {("aud", "/audit/checkpoint"), ("dev1", "/projects")} <= {
        (e["actor"], e["subject"].removeprefix("api:")) for e in refusals}  # fmt: skip
    assert all(e["payload"]["method"] != "GET" for e in refusals)  # reads are not ledgered
    exported = world.tmp / "ledger.json"
    assert world.as_user("aud", "audit", "export", "--out", str(exported)).returncode == 0
    offline = world.cli("audit", "verify", "--file", str(exported), "--format", "json")
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout)["entries"] >= report["entries"]


def test_cli_errors_are_one_line_and_the_hub_down_changes_nothing(world: Any) -> None:
    denied = world.as_user("dev1", "project", "create", "nope")
    assert denied.returncode == 2 and denied.stderr.count("\n") == 1
    assert "operator or admin" in denied.stderr
    made = world.cli("project", "create", "nope", token=world.token_of("ops"))
    assert made.returncode == 0, made.stderr  # the token works …
    world.env["TRUSTLAB_API_URL"] = "http://127.0.0.1:9/services/trustlab-api"
    try:
        gone = world.as_user("ops", "project", "create", "nope2")
    finally:
        del world.env["TRUSTLAB_API_URL"]
    assert gone.returncode == 2 and gone.stderr.count("\n") == 1 and "not reachable" in gone.stderr
    names = [p["name"] for p in world.client("ops").get("/projects")]
    assert "nope" in names and "nope2" not in names
