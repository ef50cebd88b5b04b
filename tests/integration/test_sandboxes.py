"""Hardened sandboxes, seen from inside, through the Jupyter server's API (real Docker + hub)."""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator

import docker
import pytest
from conftest import HubUnderTest

pytestmark = pytest.mark.sandbox

CONNECT = """
import socket
def probe(host, port):
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, port)); return "connected"
    except OSError as exc:
        return type(exc).__name__
    finally:
        s.close()
print(probe({host!r}, {port}))
"""


@pytest.fixture(scope="module")
def dev(hub_under_test: HubUnderTest) -> Iterator:  # type: ignore[type-arg]
    resp = hub_under_test.spawn("demo-dev", project="demo", profile="dev")
    assert resp.status_code in (201, 202), resp.text
    kernel = hub_under_test.kernel("demo-dev")
    yield kernel
    kernel.close()


@pytest.fixture(scope="module")
def decoys(hub_under_test: HubUnderTest) -> Iterator[dict]:  # type: ignore[type-arg]
    """Peers that *would* answer if isolation broke: a container on another Docker network,
    and a listener on the host (all interfaces) on a port other than the hub's."""
    client = docker.from_env()
    net = client.networks.create("trustlab-test-decoy", driver="bridge")
    container = client.containers.run(
        hub_under_test.settings.runner_image, ["python", "-m", "http.server", "8080"],
        detach=True, network="trustlab-test-decoy", remove=True,
    )  # fmt: skip
    server = socketserver.TCPServer(("0.0.0.0", 0), socketserver.BaseRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"]["trustlab-test-decoy"]["IPAddress"]
        deadline = time.monotonic() + 30
        while True:  # positive control: from the host, both decoys answer
            try:
                socket.create_connection((ip, 8080), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        host_port = server.server_address[1]
        socket.create_connection((hub_under_test.gateway, host_port), timeout=2).close()
        yield {"container": (ip, 8080), "host": (hub_under_test.gateway, host_port)}
    finally:
        server.shutdown()
        container.remove(force=True)
        net.remove()


def run(kernel, code: str) -> str:  # type: ignore[no-untyped-def]
    out = kernel.execute(code)
    assert out["status"] == "ok", out
    return out["stdout"].strip()


def test_only_the_hub_is_reachable(dev, decoys, hub_under_test: HubUnderTest) -> None:  # type: ignore[no-untyped-def]
    hub_port = HubUnderTest.PORTS["HUB_API_PORT"]
    assert run(dev, CONNECT.format(host=hub_under_test.gateway, port=hub_port)) == "connected"
    for host, port in decoys.values():
        assert run(dev, CONNECT.format(host=host, port=port)) != "connected", (host, port)
    # the public proxy port on the gateway
    public = HubUnderTest.PORTS["HUB_PORT"]
    assert run(dev, CONNECT.format(host=hub_under_test.gateway, port=public)) != "connected"
    # The network is internal (Docker drops forwarding out of it) with ICC off; the
    # decoys above are the proof that both hold.
    net = docker.from_env().networks.get(HubUnderTest.NETWORK).attrs
    assert net["Internal"] is True
    assert net["Options"]["com.docker.network.bridge.enable_icc"] == "false"


def test_no_raw_zone_no_docker_socket(dev, hub_under_test: HubUnderTest) -> None:  # type: ignore[no-untyped-def]
    raw = hub_under_test.settings.zone("raw")
    listing = json.loads(run(dev, f"""
import json, os
print(json.dumps({{
    "raw": os.path.exists({raw!r}),
    "data": sorted(os.listdir("/data")),
    "samples": sorted(os.listdir("/data/samples")),
    "docker_sock": os.path.exists("/var/run/docker.sock") or os.path.exists("/run/docker.sock"),
}}))"""))  # fmt: skip
    assert listing == {
        "raw": False,
        "data": ["samples"],
        "samples": ["people"],
        "docker_sock": False,
    }


def test_filesystem_and_privileges(dev) -> None:  # type: ignore[no-untyped-def]
    facts = json.loads(run(dev, """
import json, os
def writable(path):
    try:
        with open(os.path.join(path, ".probe"), "w") as fh:
            fh.write("x")
        os.remove(os.path.join(path, ".probe"))
        return True
    except OSError:
        return False
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
print(json.dumps({
    "uid": os.getuid(), "euid": os.geteuid(),
    "no_new_privs": status["NoNewPrivs"].strip(), "cap_eff": status["CapEff"].strip(),
    "root": writable("/"), "opt": writable("/opt/trustlab"), "samples": writable("/data/samples/people"),
    "home": writable(os.path.expanduser("~")), "tmp": writable("/tmp"),
}))"""))  # fmt: skip
    assert facts["uid"] != 0 and facts["euid"] != 0
    assert facts["no_new_privs"] == "1"
    assert int(facts["cap_eff"], 16) == 0
    assert not facts["root"] and not facts["opt"] and not facts["samples"]
    assert facts["home"] and facts["tmp"]


def test_reads_return_masked_values(dev) -> None:  # type: ignore[no-untyped-def]
    result = json.loads(run(dev, """
import json
from sandbox.runtime import load
from sandbox.validators import is_resident_id, is_mobile
df = load("people", engine="pandas")
print(json.dumps({
    "rows": len(df),
    "valid_ids": int(df["id_number"].map(is_resident_id).sum()),
    "valid_mobiles": int(df["mobile"].map(is_mobile).sum()),
    "id_shape": bool(df["id_number"].str.fullmatch(r"\\d{6}\\*{8}[\\dX]{4}").all()),
}))"""))  # fmt: skip
    assert result["rows"] > 0
    assert result["valid_ids"] == 0 and result["valid_mobiles"] == 0
    assert result["id_shape"]
    # Spark works in the sandbox too (local mode, no network, codecs loaded from /tmp)
    spark_rows = run(dev, "from sandbox.runtime import load\nprint(load('people').count())")
    assert int(spark_rows) == result["rows"]


def test_spawn_is_ledgered_with_image_and_sample_hashes(dev, hub_under_test: HubUnderTest) -> None:  # type: ignore[no-untyped-def]
    spawn = hub_under_test.ledger("sandbox.spawn")[-1]
    assert spawn["actor"] == "demo-dev" and spawn["subject"] == "project:demo"
    image_id = docker.from_env().images.get(hub_under_test.settings.sandbox_image).id
    assert spawn["payload"]["image_id"] == image_id
    catalog = json.loads(
        hub_under_test.as_user(
            "demo-dev", "dataset", "show", "people.sample", "--format", "json"
        ).stdout
    )
    assert [(m["catalog_name"], m["hash"]) for m in spawn["payload"]["mounts"]] == [
        ("people.sample", catalog["versions"][-1]["content_hash"])
    ]


def test_cells_reach_the_ledger(dev, hub_under_test: HubUnderTest) -> None:  # type: ignore[no-untyped-def]
    marker = f"cell-{time.time_ns()}"
    out = dev.execute(f"print({marker!r} * 3)")
    assert out["status"] == "ok"
    failing = dev.execute(f"raise ValueError({marker!r})")
    assert failing["status"] == "error"
    cells = _wait_for_cells(hub_under_test, marker, 2)
    ok, err = cells
    assert ok["payload"]["status"] == "ok" and err["payload"]["status"] == "error"
    assert ok["actor"] == "demo-dev" and ok["subject"] == "project:demo"
    assert ok["payload"]["output_bytes"] >= len(marker) * 3
    import hashlib

    assert ok["payload"]["code_hash"] == hashlib.sha256(ok["payload"]["code"].encode()).hexdigest()


def test_cells_spool_while_the_audit_service_is_unreachable(
    dev, hub_under_test: HubUnderTest
) -> None:  # type: ignore[no-untyped-def]
    from hub.network import SandboxNetwork

    net = SandboxNetwork(HubUnderTest.NETWORK, HubUnderTest.SUBNET, ())
    audit_port = str(HubUnderTest.PORTS["AUDIT_PORT"])
    block = ["INPUT", "-i", net.bridge, "-p", "tcp", "--dport", audit_port, "-j", "REJECT",
             "--reject-with", "tcp-reset"]  # fmt: skip
    marker = f"spooled-{time.time_ns()}"
    subprocess.run(["iptables", "-I", *block], check=True)
    try:
        assert dev.execute(f"x = {marker!r}")["status"] == "ok"
        time.sleep(2)
        spooled = run(
            dev,
            """
import os, json
spool = os.environ["TRUSTLAB_AUDIT_SPOOL"]
print(sum(1 for f in os.listdir(spool) if f.endswith(".json")))""",
        )
        assert int(spooled) >= 1
        assert not [
            c for c in hub_under_test.ledger("sandbox.cell") if marker in c["payload"]["code"]
        ]
    finally:
        subprocess.run(["iptables", "-D", *block], check=True)
    cells = _wait_for_cells(hub_under_test, marker, 1, timeout=30)
    assert len(cells) == 1  # sent once, recorded once


def _wait_for_cells(hub: HubUnderTest, marker: str, count: int, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        cells = [c for c in hub.ledger("sandbox.cell") if marker in c["payload"]["code"]]
        if len(cells) >= count or time.monotonic() > deadline:
            assert len(cells) == count, cells
            return cells
        time.sleep(0.5)


def test_users_without_a_contract_cannot_spawn(hub_under_test: HubUnderTest) -> None:
    hub_under_test.add_user("outsider", "developer")
    resp = hub_under_test.spawn("outsider")
    assert resp.status_code == 403 and "not a member of any project" in resp.text
    hub_under_test.add_user("loner", "developer")
    assert (
        hub_under_test.as_user(
            "demo-operator", "project", "create", "empty", "--member", "loner"
        ).returncode
        == 0
    )
    resp = hub_under_test.spawn("loner", project="empty")
    assert resp.status_code == 403 and "no contract in force" in resp.text
    resp = hub_under_test.spawn("loner", project="demo")  # not a member of demo
    assert resp.status_code == 403 and "not a member" in resp.text
    # a client cannot pick another image either: unknown options are dropped
    assert not [
        s for s in hub_under_test.ledger("sandbox.spawn") if s["actor"] in ("outsider", "loner")
    ]


def test_stop_is_ledgered(hub_under_test: HubUnderTest) -> None:

    hub_under_test.add_user("stopper", "developer")
    assert (
        hub_under_test.as_user(
            "demo-operator", "project", "add-member", "demo", "stopper"
        ).returncode
        == 0
    )
    resp = hub_under_test.spawn("stopper", project="demo", image="trustlab-runner:latest")
    assert resp.status_code in (201, 202), resp.text
    spawn = [s for s in hub_under_test.ledger("sandbox.spawn") if s["actor"] == "stopper"][-1]
    assert spawn["payload"]["image"] == hub_under_test.settings.sandbox_image
    hub_under_test.stop("stopper")
    stops = [s for s in hub_under_test.ledger("sandbox.stop") if s["actor"] == "stopper"]
    assert [s["payload"]["session"] for s in stops] == [spawn["payload"]["session"]]


def test_prod_profile_mounts_contracted_products_only(hub_under_test: HubUnderTest) -> None:
    hub = hub_under_test
    product = json.loads(hub.as_user("demo-dev", "dataset", "show", "district_income", "--format", "json").stdout
                         or "{}")  # fmt: skip
    if not product.get("versions"):  # published by production (the demo pipeline, up deployed it)
        done = hub.as_user("demo-operator", "pipeline", "trigger", "district_income", "--wait")
        assert done.returncode == 0, done.stderr
        product = json.loads(
            hub.as_user("demo-dev", "dataset", "show", "district_income", "--format", "json").stdout
        )
    latest = product["versions"][-1]
    hub.add_user("analyst", "developer")
    assert hub.as_user("demo-operator", "project", "add-member", "demo", "analyst").returncode == 0
    resp = hub.spawn("analyst", project="demo", profile="prod")
    assert resp.status_code == 403 and "approved products" in resp.text
    asked = hub.as_user("analyst", "contract", "request", "demo", "district_income",
                        "--mode", "sandbox", "--format", "json")  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    ref = json.loads(asked.stdout)["ref"]
    for reviewer in ("demo-provider", "demo-operator"):
        assert hub.as_user(reviewer, "contract", "approve", ref).returncode == 0
    resp = hub.spawn("analyst", project="demo", profile="prod")
    assert resp.status_code in (201, 202), resp.text
    kernel = hub.kernel("analyst")
    try:
        seen = json.loads(run(kernel, """
import json, os
from sandbox.runtime import load
print(json.dumps({"data": sorted(os.listdir("/data")), "products": sorted(os.listdir("/data/products")),
                  "rows": len(load("district_income", engine="pandas"))}))"""))  # fmt: skip
    finally:
        kernel.close()
    assert seen == {"data": ["products"], "products": ["district_income"], "rows": latest["rows"]}
    spawn = [s for s in hub.ledger("sandbox.spawn") if s["actor"] == "analyst"][-1]
    assert spawn["payload"]["profile"] == "prod"
    assert [m["hash"] for m in spawn["payload"]["mounts"]] == [latest["content_hash"]]
    hub.stop("analyst")


def test_idle_culler_and_audit_run_as_hub_services(hub_under_test: HubUnderTest) -> None:
    with hub_under_test.api() as api:
        services = api.get("/services").json()
    assert {"idle-culler", "trustlab-audit"} <= set(services)
    assert services["trustlab-audit"]["url"].startswith(f"http://{hub_under_test.gateway}:")
    assert all(services[name]["pid"] for name in ("idle-culler", "trustlab-audit")), services


NOTEBOOK_PIPELINE = '''
import json, pathlib, subprocess, textwrap
root = pathlib.Path.home() / "work" / {name!r}
root.mkdir(parents=True, exist_ok=True)
(root / "pipeline.toml").write_text(textwrap.dedent("""
    name = "{name}"
    inputs = ["people"]
    outputs = ["{name}_out"]
"""))
(root / "main.py").write_text(textwrap.dedent("""
    from pyspark.sql import functions as F

    def run(ctx):
        ctx.write("{name}_out", ctx.read("people").groupBy("district").agg(F.count("*").alias("n")))
"""))
'''


def test_a_notebook_submits_as_the_sandbox_owner_and_no_one_else(
    dev, hub_under_test: HubUnderTest
) -> None:  # type: ignore[no-untyped-def]
    hub = hub_under_test
    run(dev, NOTEBOOK_PIPELINE.format(name="nb_counts"))
    # The importable client, with the sandbox's own token and the gateway address only.
    status = json.loads(run(dev, """
from pipelines.client import submit
print(json.dumps(submit(str(root))))
"""))  # fmt: skip
    assert status["submitted_by"] == "demo-dev" and status["project"] == "demo"
    assert status["state"] == "scanned"
    # The CLI from a cell (`!trustlab …` runs a subprocess): the same identity.
    run(dev, NOTEBOOK_PIPELINE.format(name="nb_counts2"))
    shown = json.loads(run(dev, """
done = subprocess.run(["trustlab", "pipeline", "submit", str(root), "--format", "json"],
                      capture_output=True, text=True)
print(done.stdout if done.returncode == 0 else json.dumps({"error": done.stderr}))
"""))  # fmt: skip
    assert shown.get("submitted_by") == "demo-dev", shown
    entries = [e for e in hub.ledger("pipeline.submit")
               if e["payload"]["version"] in (status["version"], shown["version"])]  # fmt: skip
    assert [e["actor"] for e in entries] == ["demo-dev", "demo-dev"]
    # A sandbox cannot act as anyone else: its token is demo-dev's, whatever it claims.
    refused = json.loads(run(dev, f"""
from hub.client import PlatformClient
import os
api = PlatformClient.discover()
out = {{"me": api.whoami()["name"]}}
try:
    api.post("/pipelines/versions/{status['version']}/approve", {{"role": "operator"}})
except Exception as exc:
    out["approve"] = str(exc)
os.environ["TRUSTLAB_TOKEN"] = "forged"
try:
    PlatformClient.discover().whoami()
except Exception as exc:
    out["forged"] = str(exc)
print(json.dumps(out))
"""))  # fmt: skip
    assert refused["me"] == "demo-dev"
    assert "cannot be reviewed" in refused["approve"]
    assert "expired or revoked" in refused["forged"]
