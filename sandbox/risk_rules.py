"""The sandbox's risk rules (``trustlab.risk_rules``): cells that spike against the user's
own baseline — in output volume, or in reads of whole samples (批量导出尝试)."""

from __future__ import annotations

import re
import statistics
from datetime import timedelta
from typing import Any, ClassVar

from hub.risk import Context, Finding, Rule, entry_time

# A cell that reads a whole mounted dataset: the runtime's load(), or a reader on /data.
_READ = re.compile(
    r"\bload\s*\(|\bread_(?:parquet|csv|table)\s*\(|\.read\s*\.\s*\w+\s*\(|['\"]/data/"
)


class OutputSpike(Rule):
    """A cell whose output is ``factor`` times the user's usual (the median of their recent
    cells) and at least ``min_bytes``: a notebook printing a dataset out. Until a user has
    ``min_history`` cells, only an output of ``cold_bytes`` or more counts."""

    name = "output_spike"
    defaults: ClassVar[dict[str, Any]] = {
        "severity": "high", "factor": 20, "min_bytes": 2_000_000, "cold_bytes": 20_000_000,
        "history": 30, "min_history": 5,
    }  # fmt: skip

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        if entry["action"] != "sandbox.cell":
            return []
        size = int(entry["payload"].get("output_bytes") or 0)
        if size < int(self["min_bytes"]):
            return []
        past = ctx.recent(("sandbox.cell",), entry["actor"], entry["seq"], int(self["history"]))
        if len(past) < int(self["min_history"]):  # no baseline yet
            baseline, threshold = 0.0, float(self["cold_bytes"])
        else:
            baseline = float(statistics.median(int(e["payload"].get("output_bytes") or 0)
                                               for e in past))  # fmt: skip
            threshold = float(self["factor"]) * baseline
        if size < max(threshold, float(self["min_bytes"])):
            return []
        return [Finding("user", entry["actor"],
                        f"a cell wrote {size:,} bytes of output (usual: {baseline:,.0f})",
                        {"entry_seq": entry["seq"], "output_bytes": size,
                         "baseline_bytes": baseline, "history": len(past),
                         "code": str(entry["payload"].get("code", ""))[:400],
                         "project": entry["subject"]})]  # fmt: skip


class SampleReads(Rule):
    """Many cells reading whole samples in a short window, against the user's usual rate."""

    name = "sample_reads"
    defaults: ClassVar[dict[str, Any]] = {
        "severity": "medium", "window_minutes": 10, "count": 30, "factor": 5, "history": 500,
    }  # fmt: skip

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        if entry["action"] != "sandbox.cell" or not _READ.search(
            str(entry["payload"].get("code", ""))
        ):
            return []
        at, window = entry_time(entry), timedelta(minutes=float(self["window_minutes"]))
        # the user's read times, newest last: from the ledger once per evaluation, then kept
        reads: dict[str, list[Any]] = self.__dict__.setdefault("_reads", {})
        if entry["actor"] not in reads:
            past = ctx.recent(("sandbox.cell",), entry["actor"], entry["seq"],
                              int(self["history"]))  # fmt: skip
            code = [(e, str(e["payload"].get("code", ""))) for e in reversed(past)]
            reads[entry["actor"]] = [entry_time(e) for e, text in code if _READ.search(text)]
        times = reads[entry["actor"]]
        times.append(at)
        del times[: max(0, len(times) - int(self["history"]))]
        recent = sum(1 for t in times if t >= at - window)
        if recent < int(self["count"]):
            return []
        older = [t for t in times if t < at - window]
        if older:  # the usual rate per window over the user's earlier reads
            span = max((at - window - older[0]) / window, 1.0)
            usual = len(older) / span
            if recent < float(self["factor"]) * usual:
                return []
        else:
            usual = 0.0
        return [Finding("user", entry["actor"],
                        f"{recent} cells read whole samples within {self['window_minutes']} "
                        f"minutes (usual: {usual:.1f})",
                        {"reads": recent, "usual_per_window": usual,
                         "project": entry["subject"], "entry_seq": entry["seq"]})]  # fmt: skip


class Downloads(Rule):
    """Large or repeated downloads from sandboxes (where downloads are allowed at all):
    one of ``large_bytes`` or more, or ``count`` within ``window_minutes``."""

    name = "downloads"
    defaults: ClassVar[dict[str, Any]] = {
        "severity": "medium", "large_bytes": 10_000_000, "count": 5, "window_minutes": 10,
    }  # fmt: skip

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        if entry["action"] != "sandbox.download":
            return []
        size = int(entry["payload"].get("bytes") or 0)
        since = entry_time(entry) - timedelta(minutes=float(self["window_minutes"]))
        n = ctx.count(since, ("sandbox.download",), actor=entry["actor"], upto=entry["seq"])
        evidence = {"path": entry["payload"].get("path"), "bytes": size, "in_window": n,
                    "sha256": entry["payload"].get("sha256"), "entry_seq": entry["seq"],
                    "project": entry["subject"]}  # fmt: skip
        if size >= int(self["large_bytes"]):
            return [Finding("user", entry["actor"], f"downloaded {size:,} bytes "
                            f"({entry['payload'].get('path')})", evidence)]  # fmt: skip
        if n >= int(self["count"]):
            return [Finding("user", entry["actor"], f"{n} downloads within "
                            f"{self['window_minutes']} minutes", evidence)]  # fmt: skip
        return []
