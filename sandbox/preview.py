"""What the console shows of masking and samples, computed on the platform: a rule's
preview on a few values of the source (masked output only, and only when the masking
floor accepts the rule), the sample builds of a dataset with their gate and k-anonymity
results, and example rows of the newest published (masked) sample."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from hub.catalog import Catalog
from hub.errors import TrustlabError
from hub.models import Dataset, DatasetVersion
from hub.platform import Platform
from hub.sources import open_source
from sandbox.masking import make_rule
from sandbox.models import MaskingPolicy, SampleBuild
from sandbox.policy import Policies, check_rules, default_rules, masking_context

PREVIEW_ROWS = 8


def preview(
    platform: Platform,
    name: str,
    column: str,
    rule: str,
    params: dict[str, Any],
    justification: str | None = None,
    rows: int = PREVIEW_ROWS,
) -> dict[str, Any]:
    """``rule`` on ``column``'s first non-empty values: masked values, or why the floor
    refuses the rule (then no values at all)."""
    catalog = Catalog(platform)
    info = catalog.show(name)
    if column not in {c["name"] for c in info["columns"]}:
        raise TrustlabError(f"{name!r} has no column {column!r}")
    policies = Policies(platform)
    current = policies.current(name)
    rules = json.loads(json.dumps(current.rules if current else default_rules(info)))
    spec: dict[str, Any] = {"rule": rule, "params": params}
    if justification:
        spec["justification"] = justification.strip()
    rules[column] = spec
    context = masking_context(platform)
    try:
        check_rules(info, rules, context, platform.settings.masking_floor, complete=False)
        masker = make_rule(rule, params, context)
    except TrustlabError as exc:
        return {"column": column, "rule": rule, "refused": str(exc), "values": []}
    with platform.db.session() as session:
        ds = session.scalar(select(Dataset).where(Dataset.name == name))
        assert ds is not None
        location = catalog._source_location(ds)
        options = json.loads(ds.source_options)
    source = open_source(location, ds.source_table, ds.source_format,
                         options.get("encoding"), options.get("delimiter"))  # fmt: skip
    values = [v for v in source.probe(max(rows * 4, 40)).values.get(column, [])
              if v not in (None, "")][:rows]  # fmt: skip
    return {"column": column, "rule": rule, "refused": None,
            "values": [_plain(masker.python(v)) for v in values]}  # fmt: skip


def builds(platform: Platform, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """The newest sample builds of ``name``: what went in, the gate's verdict, k."""
    with platform.db.session() as session:
        ds = session.scalar(select(Dataset).where(Dataset.name == name))
        if ds is None:
            Catalog(platform).show(name)  # the catalog's own "not found"
        rows = session.execute(
            select(SampleBuild, MaskingPolicy.version, DatasetVersion.number)
            .join(MaskingPolicy, MaskingPolicy.id == SampleBuild.policy_id)
            .outerjoin(DatasetVersion, DatasetVersion.id == SampleBuild.sample_version_id)
            .where(SampleBuild.dataset_id == ds.id)  # type: ignore[union-attr]
            .order_by(SampleBuild.id.desc())
            .limit(limit)
        ).all()
        out = []
        for b, policy_version, sample_version in rows:
            gate = json.loads(b.gate_result)
            out.append({
                "build": b.id, "status": b.status, "strategy": b.strategy,
                "rows": b.rows_written, "k_anonymity": b.k_anonymity, "min_k": b.min_k,
                "suppressed_rows": b.suppressed_rows, "gate_passed": b.gate_passed,
                "gate_summary": gate.get("summary"), "leaks": len(gate.get("leaks") or []),
                "policy_version": policy_version, "sample_version": sample_version,
                "content_hash": b.content_hash, "created_by": b.created_by,
                "created_at": b.created_at.isoformat(),
            })  # fmt: skip
        return out


def examples(platform: Platform, name: str, rows: int = 10) -> dict[str, Any]:
    """The first ``rows`` rows of the newest published sample: masked values only."""
    import pyarrow.dataset as pads

    from sandbox.builder import latest_sample

    info = latest_sample(platform, name)
    latest = info["versions"][-1]
    table = pads.dataset(latest["location"], format="parquet").head(rows)
    return {"sample": info["name"], "version": latest["number"],
            "columns": table.column_names,
            "rows": [{k: _plain(v) for k, v in r.items()} for r in table.to_pylist()]}  # fmt: skip


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
