"""The console's home page: what waits for me (待办), per role, each with a count and a link.

Feature packages add their own items with ``console.add_waits(fn)``; this module adds the
hub's: classifications to confirm, contracts to decide and about to expire, masking
policies waiting for an operator, alerts and freezes. Every count comes from the platform
API as the logged-in person, so a person only ever counts what they may see.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from hub.client import HubUnreachable
from hub.errors import TrustlabError

EXPIRING_DAYS = 30
MESSAGES = {
    "en": {
        "waits_for_you": "What waits for you",
        "nothing_waits": "Nothing waits for you.",
        "your_pages": "Your pages",
        "wait_classifications": "datasets whose classification you confirm",
        "wait_contracts": "contract versions waiting for your decision",
        "wait_expiring": f"contracts in force that end within {EXPIRING_DAYS} days",
        "wait_policies": "masking policy versions waiting for an operator",
        "wait_alerts": "alerts in the last 7 days",
        "wait_freezes": "freezes in place",
    },
    "zh-CN": {
        "waits_for_you": "我的待办",
        "nothing_waits": "暂无待办事项。",
        "your_pages": "我的页面",
        "wait_classifications": "待您确认分类分级的数据集",
        "wait_contracts": "待您审批的合约版本",
        "wait_expiring": f"{EXPIRING_DAYS} 天内到期的生效合约",
        "wait_policies": "待运营方审批的脱敏策略版本",
        "wait_alerts": "近 7 天的风险告警",
        "wait_freezes": "冻结中的权限",
    },
}


def _orgs(me: dict[str, Any]) -> set[str]:
    return {r.split(":", 1)[1] for r in me["roles"] if r.startswith("provider:")}


def _roles(me: dict[str, Any]) -> set[str]:
    return {r.split(":", 1)[0] for r in me["roles"]}


def classifications(request: Request, api: Any, me: dict[str, Any]) -> list[dict[str, Any]]:
    orgs = _orgs(me)
    if not orgs:
        return []
    rows = [d for d in api.get("/datasets")
            if d["owner"] in orgs and d["classification_status"] != "confirmed"]  # fmt: skip
    return [{"key": "wait_classifications", "count": len(rows),
             "href": "catalog?status=proposed&mine=1"}]  # fmt: skip


def contracts(request: Request, api: Any, me: dict[str, Any]) -> list[dict[str, Any]]:
    roles, orgs = _roles(me), _orgs(me)
    if not roles & {"operator", "provider"}:
        mine: list[dict[str, Any]] = []
    else:
        mine = [c for c in api.get("/contracts") if decidable(c, me["name"], roles, orgs)]
    expiring = [c for c in api.get("/contracts") if ends_soon(c)]
    items = [
        {
            "key": "wait_contracts",
            "count": len(mine),
            "href": "contracts?waiting=1",
            "newest": max((c["versions"][-1]["created_at"] for c in mine), default=None),
        }
    ]
    if expiring:
        items.append({"key": "wait_expiring", "count": len(expiring),
                      "href": "contracts?expiring=1",
                      "newest": min(c["valid_until"] for c in expiring)})  # fmt: skip
    return items


def open_roles(
    c: dict[str, Any], user: str, roles: set[str], orgs: set[str]
) -> list[tuple[str, str | None]]:
    """(role, org) this person may still decide on a pending version of contract ``c``:
    one they did not write and have not decided (the API checks it all again)."""
    found: list[tuple[str, str | None]] = []
    for v in c["versions"]:
        if v["status"] != "pending" or v["created_by"] == user:
            continue
        if any(d["reviewer"] == user for d in v["decisions"]):
            continue
        for need in v["awaiting"]:
            if need == "operator" and "operator" in roles:
                found.append(("operator", None))
            found += [("provider", o) for o in sorted(orgs) if need == f"provider of {o}"]
    return list(dict.fromkeys(found))


def decidable(c: dict[str, Any], user: str, roles: set[str], orgs: set[str]) -> bool:
    return bool(open_roles(c, user, roles, orgs))


def ends_soon(c: dict[str, Any]) -> bool:
    if not c.get("in_force") or not c.get("valid_until"):
        return False
    until = datetime.fromisoformat(c["valid_until"])
    return until <= datetime.now(UTC) + timedelta(days=EXPIRING_DAYS)


def policies(request: Request, api: Any, me: dict[str, Any]) -> list[dict[str, Any]]:
    if "operator" not in _roles(me):
        return []
    waiting = [d["name"] for d in api.get("/datasets") if d["kind"] == "source"
               and (api.get(f"/samples/{d['name']}/policy").get("pending") or {})]  # fmt: skip
    return [{"key": "wait_policies", "count": len(waiting), "href": "catalog?policy=pending"}]


def alerts(request: Request, api: Any, me: dict[str, Any]) -> list[dict[str, Any]]:
    if not _roles(me) & {"operator", "auditor", "admin"}:
        return []
    since = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    recent = [a for a in api.get("/alerts", limit=500) if a["time"] >= since[:19]]
    frozen = [f for f in api.get("/freezes") if not f.get("lifted_at")]
    return [
        {"key": "wait_freezes", "count": len(frozen), "href": "alerts",
         "newest": max((f["frozen_at"] for f in frozen), default=None)},
        {"key": "wait_alerts", "count": len(recent), "href": "alerts",
         "newest": max((a["time"] for a in recent), default=None)},
    ]  # fmt: skip


def register(console: Any) -> None:
    console.messages(MESSAGES)
    for fn in (classifications, contracts, policies, alerts):
        console.add_waits(fn)

    @console.router.get("/")
    def home(request: Request) -> HTMLResponse:  # API calls: in the thread pool
        api = console.api(request)
        me = console.me(request)
        items: list[dict[str, Any]] = []
        problems: list[str] = []
        for fn, ns in console.waits:
            try:
                items.extend({**w, "label": console._console.t(request, w["key"], ns=ns)}
                             for w in fn(request, api, me))  # fmt: skip
            except HubUnreachable:
                raise
            except TrustlabError as exc:  # one source failing leaves the others standing
                problems.append(str(exc))
        busy = sorted((w for w in items if w["count"]), key=lambda w: w.get("newest") or "",
                      reverse=True)  # fmt: skip
        return console.render(request, "home.html", console.t(request, "home"),
                              waits=busy, problems=problems)  # fmt: skip
