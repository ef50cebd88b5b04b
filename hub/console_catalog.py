"""Console pages: the catalog (数据目录) — datasets, a dataset's schema, its proposed and
confirmed classification with evidence, versions and lineage; the owner's provider
reviewers edit and confirm the classification here. Every read and change is a platform
API call as the logged-in person (the API decides who may)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.classification import PII_TYPES
from hub.errors import TrustlabError

MESSAGES = {
    "en": {
        "catalog": "Catalog", "dataset": "Dataset", "kind": "Kind", "owner": "Owner",
        "versions": "Versions", "rows": "Rows", "classification": "Classification",
        "status_proposed": "proposed", "status_confirmed": "confirmed",
        "filter": "Filter", "all": "all", "mine_only": "only my organisations'",
        "no_datasets": "No datasets match.", "schema": "Schema and classification",
        "column": "Column", "type": "Type", "pii": "PII type", "level": "Level",
        "qi": "Quasi-identifier", "proposed": "Proposed", "evidence": "Evidence",
        "confidence": "Confidence", "edited_by": "Edited by", "confirm": "Confirm the "
        "classification", "confirmed_by": "Confirmed by {who} at {at}.",
        "not_confirmed": "Proposed by the classifier; not yet confirmed by the owner.",
        "edit": "Change", "save": "Save", "lineage": "Lineage", "no_lineage": "Nothing "
        "recorded was made from this dataset, and it was made from no other.",
        "number": "Version", "hash": "Content hash", "created": "Created",
        "made_by": "Made by", "source_of": "Source", "run_n": "run {run}",
        "sample": "masked sample", "labeling_export": "labeling export",
        "yes": "yes", "no": "no", "samples": "Masked samples", "no_samples": "No sample "
        "was built yet.", "build": "Build", "status": "Status", "k": "k-anonymity",
        "suppressed": "Suppressed rows", "gate": "Leak gate", "passed": "passed",
        "failed": "failed", "policy_v": "Policy", "examples": "Example rows (masked, "
        "sample v{v})", "policy": "Masking policy",
    },
    "zh-CN": {
        "catalog": "数据目录", "dataset": "数据集", "kind": "类型", "owner": "所属机构",
        "versions": "版本数", "rows": "行数", "classification": "分类分级",
        "status_proposed": "待确认", "status_confirmed": "已确认",
        "filter": "筛选", "all": "全部", "mine_only": "仅本机构",
        "no_datasets": "没有符合条件的数据集。", "schema": "字段与分类分级",
        "column": "字段", "type": "类型", "pii": "个人信息类型", "level": "级别",
        "qi": "准标识符", "proposed": "系统建议", "evidence": "依据",
        "confidence": "置信度", "edited_by": "修改人", "confirm": "确认分类分级",
        "confirmed_by": "已由 {who} 于 {at} 确认。",
        "not_confirmed": "分类器建议，数据所有方尚未确认。",
        "edit": "修改", "save": "保存", "lineage": "数据血缘",
        "no_lineage": "未记录与此数据集相关的上下游数据。",
        "number": "版本", "hash": "内容哈希", "created": "创建",
        "made_by": "创建人", "source_of": "来源", "run_n": "运行 {run}",
        "sample": "脱敏样例", "labeling_export": "标注导出",
        "yes": "是", "no": "否", "samples": "脱敏样例", "no_samples": "尚未生成样例。",
        "build": "生成", "status": "状态", "k": "k-匿名", "suppressed": "抑制行数",
        "gate": "泄露检查", "passed": "通过", "failed": "未通过", "policy_v": "策略",
        "examples": "示例数据（已脱敏，样例 v{v}）", "policy": "脱敏策略",
    },
}  # fmt: skip
LEVELS = ("L1", "L2", "L3", "L4")
BOX_W, BOX_H, GAP_X, GAP_Y = 190, 44, 90, 26


def draw(graph: dict[str, Any], t: Any) -> dict[str, Any]:
    """A left-to-right layered layout of the lineage graph, for an SVG drawn by the
    template (no script: boxes, paths and labels are plain SVG elements)."""
    levels = sorted({n["level"] for n in graph["nodes"]})
    columns = {lvl: [n for n in graph["nodes"] if n["level"] == lvl] for lvl in levels}
    at: dict[str, tuple[int, int]] = {}
    for x, lvl in enumerate(levels):
        for y, node in enumerate(sorted(columns[lvl], key=lambda n: n["name"])):
            at[node["name"]] = (20 + x * (BOX_W + GAP_X), 20 + y * (BOX_H + GAP_Y))
    boxes = [{**n, "x": at[n["name"]][0], "y": at[n["name"]][1],
              "cls": "here" if n["level"] == 0 else ""} for n in graph["nodes"]]  # fmt: skip
    lines = []
    for e in graph["edges"]:
        (x1, y1), (x2, y2) = at[e["from"]], at[e["to"]]
        sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H // 2, x2, y2 + BOX_H // 2
        mid = (sx + ex) // 2
        via = e["via"]
        label = {"run": lambda v: f"{v.get('pipeline') or ''} · " + t("run_n", run=v.get("run")),
                 "sample": lambda v: t("sample"),
                 "labeling": lambda v: t("labeling_export")}.get(via["kind"],
                                                                 lambda v: "")(via)  # fmt: skip
        lines.append({"d": f"M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}", "label": label,
                      "lx": mid, "ly": (sy + ey) // 2 - 4, "run": via.get("run")})  # fmt: skip
    width = 40 + len(levels) * (BOX_W + GAP_X) - GAP_X
    height = 40 + max((len(c) for c in columns.values()), default=1) * (BOX_H + GAP_Y)
    return {"boxes": boxes, "lines": lines, "width": width, "height": height,
            "w": BOX_W, "h": BOX_H}  # fmt: skip


def fingerprint(info: dict[str, Any]) -> str:
    """What the owner saw when deciding: the status and every column's class."""
    cols = ",".join(f"{c['name']}={c['pii']}/{c['level']}/{int(bool(c['quasi_identifier']))}"
                    for c in info["columns"])  # fmt: skip
    return f"{info['classification_status']};{len(info['versions'])};{cols}"


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.add_nav("catalog", "catalog", order=10)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    @console.router.get("/catalog")
    def catalog(request: Request) -> HTMLResponse:
        api = console.api(request)
        q = request.query_params
        rows = api.get("/datasets")
        orgs = {r.org for r in console.held(request) if r.role == "provider"}
        if q.get("status") in ("proposed", "confirmed"):
            want = q["status"]
            rows = [r for r in rows if (r["classification_status"] == "confirmed") ==
                    (want == "confirmed")]  # fmt: skip
        if q.get("kind"):
            rows = [r for r in rows if r["kind"] == q["kind"]]
        if q.get("mine"):
            rows = [r for r in rows if r["owner"] in orgs]
        if q.get("q"):
            needle = q["q"].lower()
            rows = [r for r in rows if needle in r["name"].lower() or needle in r["owner"]]
        kinds = sorted({r["kind"] for r in api.get("/datasets")})
        table = console.table(request, rows, "name")
        return console.render(request, "catalog.html", t(request, "catalog"), tbl=table,
                              kinds=kinds, has_orgs=bool(orgs))  # fmt: skip

    @console.router.get("/catalog/{name}")
    def dataset(request: Request, name: str) -> HTMLResponse:
        api = console.api(request)
        info = console.one(request, f"/datasets/{quote(name, safe='')}")
        graph = api.get(f"/datasets/{quote(name, safe='')}/lineage")
        owner = console.holds(request, "provider", org=info["owner"])
        builds, examples = [], None
        if info["kind"] == "source":
            builds = api.get(f"/samples/{quote(name, safe='')}/builds")
            if any(b["status"] == "published" for b in builds) and (
                owner or console.holds(request, "operator", "auditor", "admin")
            ):
                examples = api.get(f"/samples/{quote(name, safe='')}/examples", rows=10)
        return console.render(
            request, "dataset.html", f"{t(request, 'dataset')} {name}", d=info,
            owner=owner, pii_types=PII_TYPES, levels=LEVELS, seen=fingerprint(info),
            builds=builds, examples=examples,
            svg=draw(graph, lambda key, **kw: t(request, key, **kw))
            if len(graph["nodes"]) > 1 else None,
        )  # fmt: skip

    @console.router.post("/catalog/{name}/confirm")
    async def confirm(request: Request, name: str) -> Response:
        return await act(request, name, "confirm")

    @console.router.post("/catalog/{name}/classify")
    async def classify(request: Request, name: str) -> Response:
        return await act(request, name, "classify")

    async def act(request: Request, name: str, action: str) -> Response:
        form = await console.form(request)
        api = console.api(request)
        base = f"/datasets/{quote(name, safe='')}"
        back = f"../{quote(name, safe='')}"

        def run() -> Response:
            console.unchanged(request, form, fingerprint(api.get(base)))
            try:
                if action == "confirm":
                    api.post(f"{base}/confirm", {})
                else:
                    column = form.get("column", "")
                    api.post(f"{base}/columns/{quote(column, safe='')}", {
                        "pii": form.get("pii") or None, "level": form.get("level") or None,
                        "quasi_identifier": form.get("qi") == "1"})  # fmt: skip
            except TrustlabError as exc:
                return RedirectResponse(f"{back}?error={quote(str(exc))}", 303)
            return RedirectResponse(f"{back}?done=1", 303)

        return await run_in_threadpool(run)
