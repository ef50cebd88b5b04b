"""``trustlab up`` steps: Label Studio running, and a demo labeling project.

The demo project goes the normal way, acted by the demo accounts: the demo developer asks
for a contract allowing ``labeling`` of ``people`` (its owner's reviewer and the operator
approve it) and creates ``demo-ner`` — named entities in the masked sample's remarks,
overlap 2, two demo annotators, a demo reviewer, and gold tasks whose known answer is "no
entity" (remarks such as 无 or 资料齐全). Hub and Label Studio logins of the annotators
go to ``HOME/demo-credentials.json`` (mode 0600).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import click

from hub.platform import Platform

PROJECT = "demo-ner"
ANNOTATORS = ("demo-annotator-1", "demo-annotator-2")
REVIEWER = "demo-reviewer"
# Remarks of the demo data that name nobody and nothing: their known answer is no entity.
NO_ENTITY = {"无", "资料齐全", "已完成年度复核", "本人到场办理", "信息已更新", "按时缴纳社保"}
GUIDELINES = """\
# 标注规范 Labeling guidelines (v1)
- PER 人名, LOC 地名, ORG 机构名; MASKED: an identifier already masked (e.g. 138****1234).
- Mark the whole name, no surrounding punctuation. 若无实体，直接提交。
- Submit with no region when the remark names nothing.
"""


def up_labelstudio(platform: Platform) -> None:
    from labeling.server import LabelStudioServer

    LabelStudioServer(platform.settings).start(log=lambda m: click.echo(f"  {m}"))


def _accounts(platform: Platform, creds: dict[str, Any]) -> None:
    from hub.identity import HOST, Directory, Role

    d = Directory(platform)
    known = {u["name"] for u in d.list_users()}
    for name in (*ANNOTATORS, REVIEWER):
        if name not in known:
            creds[name] = creds.get(name) or secrets.token_urlsafe(9)
            d.add_user(name, [Role("annotator")], creds[name], HOST)


def _contract(platform: Platform) -> None:
    from hub.contracts import Contracts
    from sandbox.cli import DEMO_NAME, DEMO_PROJECT

    contracts = Contracts(platform)
    mine = [c for c in contracts.list(DEMO_PROJECT) if c["state"] not in ("rejected", "revoked")
            and any("labeling" in o["modes"] for o in c["objects"])]  # fmt: skip
    if not mine:
        why = "demo: label entities in masked remarks 演示标注"
        mine = [contracts.request(DEMO_PROJECT, DEMO_NAME, "demo-dev", ["labeling"], purpose=why)]
    for reviewer in ("demo-provider", "demo-operator"):
        if any(v["awaiting"] for v in mine[0]["versions"]):
            mine = [contracts.decide(mine[0]["ref"], reviewer, True)]


def up_demo_labeling(platform: Platform) -> None:
    """The demo labeling project (once), its people and contract."""
    from hub.errors import NotFound
    from labeling.projects import ProjectRequest, Projects
    from labeling.sources import read_rows, resolve
    from labeling.studio import Accounts
    from sandbox.cli import DEMO_NAME, DEMO_PROJECT

    creds_file = platform.settings.home / "demo-credentials.json"
    creds = json.loads(creds_file.read_text()) if creds_file.exists() else {}
    _accounts(platform, creds)
    _contract(platform)
    projects = Projects(platform)
    try:
        info = projects.show(PROJECT)
    except NotFound:
        with platform.db.session() as session:
            src = resolve(session, DEMO_NAME)
        rows = read_rows(src, ["remark"])
        gold = [{"key": f"row-{i}", "result": []} for i, r in enumerate(rows)
                if (r["remark"] or "").strip() in NO_ENTITY][:5]  # fmt: skip
        req = ProjectRequest(
            name=PROJECT, project=DEMO_PROJECT, dataset=DEMO_NAME, template="ner",
            labels=["PER", "LOC", "ORG", "MASKED"], fields={"text": "remark"},
            annotators=list(ANNOTATORS), overlap=2, gold=gold, gold_share=0.05,
            reviewer=REVIEWER, guidelines=GUIDELINES,
        )  # fmt: skip
        info = projects.create(req, "demo-dev")
    accounts = Accounts(platform.settings.home)
    creds["label-studio"] = {
        "url": projects.server.url,
        **{p: {"email": a["email"], "password": a["password"]}
           for p in (*ANNOTATORS, REVIEWER) if (a := accounts.get(p))},
    }  # fmt: skip
    creds_file.write_text(json.dumps(creds, indent=2, ensure_ascii=False))
    creds_file.chmod(0o600)
    click.echo(f"  labeling project {PROJECT}: {info['tasks']:,} tasks ({info['gold']} gold), "
               f"overlap 2, annotators {', '.join(ANNOTATORS)}, reviewer {REVIEWER}")  # fmt: skip
    click.echo(f"  Label Studio: {projects.server.url}/  (annotator logins: {creds_file})")


def up_demo_suggestions(platform: Platform) -> None:
    """trustlab's ML backend (a hub service, so after the hub) connected to the demo."""
    import time

    import httpx

    from hub.errors import TrustlabError
    from labeling import predictions
    from labeling.backend import USER, secret

    s = platform.settings
    url = f"http://{s.labeling_ml_host}:{s.labeling_ml_port}/health"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, auth=(USER, secret(s)), timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TrustlabError(
                f"trustlab's suggestions service does not answer at {url}; look for "
                "trustlab-suggestions in the hub's log (jupyterhub.log, named by `make up`)"
            )
        time.sleep(0.5)
    r = predictions.connect(platform, PROJECT, "demo-dev")
    click.echo(f"  suggestions for {PROJECT}: {r['backend']} ({r['connected']} newly connected)")
