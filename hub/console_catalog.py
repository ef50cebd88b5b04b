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
        "register": "Register a source", "file_source": "A file (CSV or Parquet)",
        "sql_source": "A database table", "file": "File", "name": "Name in the catalog",
        "encoding": "Encoding (default: detected)", "delimiter": "Delimiter (default: "
        "detected)", "sql_url": "Database URL (without the password)", "password":
        "Password (kept in the secrets store)", "table": "Table (schema.table)",
        "register_do": "Register", "choose_file": "Choose a CSV or Parquet file to upload",
        "register_help": "The platform reads the file or table, fingerprints it, and "
        "proposes a classification for the owner to confirm. Nothing is registered if any "
        "check fails.",
        "yes": "yes", "no": "no", "samples": "Masked samples", "no_samples": "No sample "
        "was built yet.", "build": "Build", "status": "Status", "k": "k-anonymity",
        "suppressed": "Suppressed rows", "gate": "Leak gate", "passed": "passed",
        "failed": "failed", "policy_v": "Policy", "examples": "Example rows (masked, "
        "sample v{v})", "policy": "Masking policy", "build_sample": "Build a masked sample "
        "(rows)", "build_do": "Build (a minute or so)", "request_access": "Request this "
        "dataset for a project",
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
        "register": "登记数据源", "file_source": "文件（CSV 或 Parquet）",
        "sql_source": "数据库表", "file": "文件", "name": "目录中的名称",
        "encoding": "编码（默认自动识别）", "delimiter": "分隔符（默认自动识别）",
        "sql_url": "数据库 URL（不含密码）", "password": "密码（存入密钥库）",
        "table": "表（schema.table）", "register_do": "登记",
        "choose_file": "请选择要上传的 CSV 或 Parquet 文件",
        "register_help": "平台读取文件或表、计算指纹并给出分类分级建议，由数据所有方确认。"
        "任一检查未通过则不登记。",
        "yes": "是", "no": "否", "samples": "脱敏样例", "no_samples": "尚未生成样例。",
        "build": "生成", "status": "状态", "k": "k-匿名", "suppressed": "抑制行数",
        "gate": "泄露检查", "passed": "通过", "failed": "未通过", "policy_v": "策略",
        "examples": "示例数据（已脱敏，样例 v{v}）", "policy": "脱敏策略",
        "build_sample": "生成脱敏样例（行数）", "build_do": "生成（约一分钟）",
        "request_access": "为项目申请使用此数据集",
    },
}  # fmt: skip
LEVELS = ("L1", "L2", "L3", "L4")
BOX_W, BOX_H, GAP_X, GAP_Y = 190, 44, 150, 26


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


def sql_url(url: str, password: str) -> str:
    """The URL with the password set (typed apart, never shown again: the catalog keeps it
    in the secrets store and the URL without it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise TrustlabError(f"{url!r} is not a database URL (driver://user@host:port/db)") from None
    if password:
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


def fingerprint(info: dict[str, Any]) -> str:
    """What the owner saw when deciding: the status and every column's class."""
    import hashlib

    cols = ",".join(f"{c['name']}={c['pii']}/{c['level']}/{int(bool(c['quasi_identifier']))}"
                    for c in info["columns"])  # fmt: skip
    classes = hashlib.sha256(cols.encode()).hexdigest()[:8]
    return (f"classification {info['classification_status']}, {len(info['versions'])} "
            f"version(s), column classes #{classes}")  # fmt: skip


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

    def register_form(request: Request, values: dict[str, Any] | None = None,
                      error: str | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
        orgs = [o["name"] for o in console.api(request).get("/organisations")]
        mine = [r.org for r in console.held(request) if r.role == "provider" and r.org]
        if not console.holds(request, "operator", "admin"):
            orgs = [o for o in orgs if o in mine]
        return console.render(request, "register.html", t(request, "register"), orgs=orgs,
                              v=values or {"owner": mine[0] if mine else ""}, error=error,
                              status=status)  # fmt: skip

    @console.router.post("/catalog/{name}/sample")
    async def build_sample(request: Request, name: str) -> Response:
        form = await console.form(request)
        api = console.api(request)
        back = f"../{quote(name, safe='')}"

        rows = form.get("rows", "").strip()
        body = {"rows": int(rows) if rows.isdigit() else None}
        return await console.act(
            request, lambda: api.post(f"/samples/{quote(name, safe='')}/build", body), back
        )

    @console.router.get("/catalog/register")
    def register_page(request: Request) -> HTMLResponse:
        return register_form(request)

    @console.router.post("/catalog/register")
    async def register_source(request: Request) -> Response:
        form = await console.form(request)
        api = console.api(request)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "sql_password"}
        upload = form.get("file")

        def run() -> Response:
            name, owner = values.get("name", "").strip(), values.get("owner", "")
            options = {k: values[k] for k in ("encoding", "delimiter") if values.get(k)}
            try:
                if values.get("kind") == "sql":
                    body = {"source": sql_url(values.get("sql_url", ""),
                                              form.get("sql_password") or ""),
                            "table": values.get("table") or None, "format": "sql",
                            "name": name, "owner": owner}  # fmt: skip
                    api.post("/datasets", body)
                else:
                    if upload is None or isinstance(upload, str) or not upload.filename:
                        raise TrustlabError(t(request, "choose_file"))
                    upload.file.seek(0)
                    api.request("POST", "/datasets/upload", params={
                        "name": name, "owner": owner, "filename": upload.filename,
                        **options}, content=iter(lambda: upload.file.read(1 << 20), b""),
                        headers={"Content-Type": "application/octet-stream"})  # fmt: skip
            except TrustlabError as exc:
                return register_form(request, values, str(exc), 400)
            return RedirectResponse(f"{quote(name, safe='')}?done=1", 303)

        return await run_in_threadpool(run)

    @console.router.get("/catalog/{name}")
    def dataset(request: Request, name: str) -> HTMLResponse:
        api = console.api(request)
        info = console.one(request, f"/datasets/{quote(name, safe='')}")
        graph = api.get(f"/datasets/{quote(name, safe='')}/lineage")
        owner = console.holds(request, "provider", org=info["owner"])
        builder = info["kind"] == "source" and (owner or console.holds(request, "operator"))
        owner = owner and info["kind"] == "source"  # derived data: classified by its making
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
            builds=builds, examples=examples, builder=builder,
            projects=console.me(request)["projects"],
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

        def call() -> Any:
            if action == "confirm":
                return api.post(f"{base}/confirm", {})
            column = form.get("column", "")
            return api.post(f"{base}/columns/{quote(column, safe='')}", {
                "pii": form.get("pii") or None, "level": form.get("level") or None,
                "quasi_identifier": form.get("qi") == "1"})  # fmt: skip

        return await console.act(request, call, back, lambda: fingerprint(api.get(base)), form)
