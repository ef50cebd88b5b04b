"""Dataset lineage as a graph: which datasets a dataset was made from (a production run of
a pipeline version, a masked sample, a labeling export) and what was made from it.

Read from the catalog's own records (each version's ``lineage`` and ``sample_of``), so the
graph is exactly what the platform recorded when it made each version.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.errors import NotFound
from hub.models import Dataset


def parents(ds: Dataset) -> list[tuple[str, dict[str, Any]]]:
    """(dataset it came from, how) for the newest version of ``ds``."""
    found: list[tuple[str, dict[str, Any]]] = []
    if ds.sample_of is not None:
        found.append((ds.sample_of.name, {"kind": "sample"}))
    latest = ds.latest
    info = json.loads(latest.lineage) if latest is not None and latest.lineage else {}
    if isinstance(info.get("inputs"), dict):
        via = {"kind": "run", "run": info.get("run"), "pipeline": info.get("pipeline"),
               "code_version": info.get("code_version"), "version": latest.number}  # fmt: skip
        for name, pinned in info["inputs"].items():
            used = pinned.get("version") if isinstance(pinned, dict) else None
            found.append((name, {**via, "input_version": used}))
    source = info.get("source")
    if info.get("made_by") == "labeling" and isinstance(source, dict):
        name = source.get("dataset") or source.get("name")
        if name:
            found.append((str(name), {"kind": "labeling", "project": info.get("labeling_project"),
                                      "version": latest.number}))  # fmt: skip
    return found


def graph(session: Any, name: str, depth: int = 4) -> dict[str, Any]:
    """Upstream and downstream of ``name`` up to ``depth`` steps each way."""
    rows = session.scalars(select(Dataset).options(
        selectinload(Dataset.versions), selectinload(Dataset.owner),
        selectinload(Dataset.sample_of))).all()  # fmt: skip
    by_name = {d.name: d for d in rows}
    if name not in by_name:
        raise NotFound(f"no dataset {name!r}; see `trustlab dataset list`")
    up = {d.name: parents(d) for d in rows}
    down: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for child, links in up.items():
        for parent, via in links:
            down.setdefault(parent, []).append((child, via))
    level = {name: 0}
    edges: list[dict[str, Any]] = []
    for step, links in ((-1, up), (1, down)):
        frontier = [name]
        for _ in range(depth):
            nxt = []
            for node in frontier:
                for other, via in links.get(node, []):
                    src, dst = (other, node) if step < 0 else (node, other)
                    edge = {"from": src, "to": dst, "via": via}
                    if edge not in edges:
                        edges.append(edge)
                    if other not in level:
                        level[other] = level[node] + step
                        nxt.append(other)
            frontier = nxt
    nodes = []
    for node, lvl in level.items():
        d = by_name.get(node)
        latest = d.latest if d is not None else None
        nodes.append({"name": node, "level": lvl, "kind": d.kind if d else "unknown",
                      "owner": d.owner.name if d else None,
                      "version": latest.number if latest else None})  # fmt: skip
    return {"dataset": name, "nodes": nodes, "edges": edges}
