"""The pipelines' risk rule (``trustlab.risk_rules``): row-level export (逐行导出).

A published run whose output has as many rows as an input that holds personal data, and
keeps row-level keys — output columns that carry an input's PII raw, by the reviewed
lineage the product's classification inherits — is a copy of the population, whatever
its review said. Aggregates (fewer rows) and row-level outputs without such keys pass.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import select

from hub.models import ColumnClass, Dataset
from hub.risk import Context, Finding, Rule


def _pii_columns(ctx: Context, name: str) -> list[str]:
    ds = ctx.session.scalar(select(Dataset).where(Dataset.name == name))
    if ds is None:
        return []
    return list(ctx.session.scalars(select(ColumnClass.name).where(
        ColumnClass.dataset_id == ds.id, ColumnClass.pii_type != "none")))  # fmt: skip


class RowLevelExport(Rule):
    name = "row_level_export"
    defaults: ClassVar[dict[str, Any]] = {"severity": "high", "min_rows": 100}

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        if entry["action"] != "pipeline.run" or entry["payload"].get("state") != "published":
            return []
        p = entry["payload"]
        inputs = {k: int(v.get("rows") or 0) for k, v in (p.get("inputs") or {}).items()}
        personal = {k: n for k, n in inputs.items() if n and _pii_columns(ctx, k)}
        found = []
        for out, info in (p.get("outputs") or {}).items():
            rows = int(info.get("rows") or 0)
            same = [k for k, n in personal.items() if n == rows]
            keys = _pii_columns(ctx, out)
            if rows >= int(self["min_rows"]) and same and keys:
                project = _project(ctx, p.get("version"))
                found.append(Finding(
                    "project", project or entry["subject"].removeprefix("pipeline:"),
                    f"run {p.get('run')} published {out} with {rows:,} rows, as many as "
                    f"{', '.join(same)}, keeping {', '.join(keys)}",
                    {"run": p.get("run"), "output": out, "rows": rows, "inputs": inputs,
                     "row_keys": keys, "version": p.get("version")}))  # fmt: skip
        return found


def _project(ctx: Context, version: str | None) -> str | None:
    from pipelines.models import PipelineVersion

    v = ctx.session.get(PipelineVersion, version) if version else None
    return v.project if v is not None else None
