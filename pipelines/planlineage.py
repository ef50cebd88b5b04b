"""Column lineage from a Spark plan's JSON, computed where no pipeline code ever ran.

The dry run's pipeline container exports each output's analyzed logical plan
(``queryExecution().analyzed().toJSON()``); the verdict container reads it here. Catalyst's
JSON is a pre-order list of nodes (``class``, ``num-children``, fields; children follow,
``child``/``left``/``right`` name them by position); expressions inside a node's fields are
pre-order lists of their own.

**Default deny.** An output column carries an input column *raw* unless every path between
them passes an operation known to destroy the value: a hash, Spark's ``mask``, an aggregate
over groups (count, sum, average, variance, percentiles, distinct counts, …), bucketing
(``floor``/``ceil``/``round``/``width_bucket``), a rank or a length. Everything else — casts,
concatenation, substrings, string functions, conditionals, value-preserving aggregates
(``first``, ``min``, ``collect_list`` …), Python UDFs, any expression this module does not
know — carries the input's raw classification, and the reviewer sees the whole chain.

Inputs are recognised by the leaf relations of the plan: a leaf attribute named like a
column of an input is that input column (of every input that has such a column), so a
pipeline cannot hide a source by renaming it in what it reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DESTROYING = {
    # hashes
    "Sha1", "Sha2", "Md5", "Crc32", "XxHash64", "Murmur3Hash", "HiveHash",
    # Spark's masking
    "Mask",
    # aggregates over groups
    "Count", "Sum", "Average", "StddevSamp", "StddevPop", "VarianceSamp", "VariancePop",
    "Percentile", "ApproximatePercentile", "Median", "HyperLogLogPlusPlus", "Corr",
    "CovSample", "CovPopulation", "Skewness", "Kurtosis", "CountIf", "RegrCount", "TrySum",
    "TryAverage", "BoolAnd", "BoolOr",
    # ranks (a position, never a value)
    "Rank", "DenseRank", "PercentRank", "CumeDist", "NTile", "RowNumber",
    # bucketing and sizes
    "Floor", "Ceil", "Round", "BRound", "WidthBucket", "Length", "OctetLength", "BitLength",
}  # fmt: skip
TRANSPARENT = {"Alias", "AttributeReference", "Literal", "AggregateExpression"}


class PlanError(ValueError):
    """The plan JSON cannot be read as a Spark logical plan."""


@dataclass
class Info:
    sources: set[tuple[str, str]] = field(default_factory=set)
    raw: set[tuple[str, str]] = field(default_factory=set)
    via: set[str] = field(default_factory=set)

    def merge(self, other: Info) -> None:
        self.sources |= other.sources
        self.raw |= other.raw
        self.via |= other.via


@dataclass
class Node:
    kind: str
    fields: dict[str, Any]
    children: list[Node]


def _cls(entry: dict[str, Any]) -> str:
    return str(entry.get("class", "")).rsplit(".", 1)[-1].rstrip("$")


def tree(flat: list[Any]) -> Node:
    """A node tree from Catalyst's pre-order JSON list."""
    if not isinstance(flat, list) or not flat:
        raise PlanError("not a Catalyst JSON tree")
    pos = 0

    def build() -> Node:
        nonlocal pos
        if pos >= len(flat) or not isinstance(flat[pos], dict):
            raise PlanError("truncated Catalyst JSON tree")
        entry = flat[pos]
        pos += 1
        count = entry.get("num-children")
        if not isinstance(count, int) or count < 0:
            raise PlanError("a node without num-children")
        children = [build() for _ in range(count)]
        return Node(_cls(entry), entry, children)

    root = build()
    if pos != len(flat):
        raise PlanError("trailing nodes after the root")
    return root


def _is_expression_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and isinstance(value[0], dict)
        and str(value[0].get("class", "")).startswith("org.apache.spark.sql.catalyst.expressions")
    )


def expressions(node: Node) -> list[Node]:
    """Every expression tree in a plan node's fields (single ones and sequences)."""
    found = []
    for key, value in node.fields.items():
        if key in ("class", "num-children"):
            continue
        if _is_expression_list(value):
            found.append(tree(value))
        elif isinstance(value, list):
            for item in value:
                if _is_expression_list(item):
                    found.append(tree(item))
    return found


def _seq(node: Node, key: str) -> list[Node]:
    value = node.fields.get(key)
    if not isinstance(value, list):
        return []
    return [tree(item) for item in value if _is_expression_list(item)]


def _expr_id(expr: Node) -> int | None:
    ident = expr.fields.get("exprId")
    return ident.get("id") if isinstance(ident, dict) else None


class Tracer:
    def __init__(self, columns: dict[str, list[str]]) -> None:
        self.columns = columns  # input name -> its column names
        self.info: dict[int, Info] = {}

    def _leaf_attribute(self, attr: Node) -> Info:
        name = str(attr.fields.get("name", ""))
        found = {(inp, c) for inp, cols in self.columns.items() for c in cols if c == name}
        return Info(set(found), set(found))

    def attr(self, expr: Node) -> Info:
        eid = _expr_id(expr)
        return self.info.get(eid, Info()) if eid is not None else Info()

    def expression(self, expr: Node) -> Info:
        kind = expr.kind
        if kind == "AttributeReference":
            known = self.attr(expr)
            return Info(set(known.sources), set(known.raw), set(known.via))
        if kind == "WindowExpression" and expr.children:
            out = self.expression(expr.children[0])
            out.via.add("window")
            for spec in expr.children[1:]:
                out.sources |= self.expression(spec).sources
            return out
        out = Info()
        for child in expr.children:
            sub = self.expression(child)
            out.sources |= sub.sources
            out.via |= sub.via
            if kind not in DESTROYING:
                out.raw |= sub.raw
        if kind not in TRANSPARENT:
            out.via.add(kind)
        return out

    def output(self, plan: Node) -> list[Node]:
        """The output attributes of ``plan`` (after tracing it)."""
        kind = plan.kind
        child_outputs = [self._outputs_of(c) for c in plan.children]
        if not plan.children:
            attrs = _seq(plan, "output")
            for attr in attrs:
                eid = _expr_id(attr)
                if eid is not None and eid not in self.info:
                    self.info[eid] = self._leaf_attribute(attr)
            return attrs
        for expr in expressions(plan):
            self._aliases(expr)
        if kind == "Project":
            return _seq(plan, "projectList")
        if kind == "Aggregate":
            return _seq(plan, "aggregateExpressions")
        if kind == "Window":
            return child_outputs[0] + _seq(plan, "windowExpressions")
        if kind == "Generate":
            generator = _seq(plan, "generator") or expressions(plan)[:1]
            info = self.expression(generator[0]) if generator else Info()
            produced = _seq(plan, "generatorOutput")
            for attr in produced:
                eid = _expr_id(attr)
                if eid is not None:
                    self.info[eid] = Info(set(info.sources), set(info.raw), set(info.via))
            return child_outputs[0] + produced
        if kind == "Expand":
            produced = _seq(plan, "output")
            for projection in plan.fields.get("projections", []) or []:
                exprs = [tree(e) for e in projection if _is_expression_list(e)]
                for attr, expr in zip(produced, exprs, strict=False):
                    eid = _expr_id(attr)
                    if eid is not None:
                        self.info.setdefault(eid, Info()).merge(self.expression(expr))
            return produced
        if kind == "Union":
            first = child_outputs[0]
            for other in child_outputs[1:]:
                for attr, src in zip(first, other, strict=False):
                    eid, sid = _expr_id(attr), _expr_id(src)
                    if eid is not None and sid is not None and eid != sid:
                        self.info.setdefault(eid, Info()).merge(self.info.get(sid, Info()))
            return first
        declared = _seq(plan, "output")
        if declared:  # a node that states its output (relations, Expand-like nodes)
            for attr in declared:
                eid = _expr_id(attr)
                if eid is not None and eid not in self.info:
                    merged = Info()
                    for outs in child_outputs:
                        for a in outs:
                            if a.fields.get("name") == attr.fields.get("name"):
                                merged.merge(self.attr(a))
                    self.info[eid] = merged
            return declared
        return [a for outs in child_outputs for a in outs]  # Join, Filter, Sort, Limit …

    def _outputs_of(self, plan: Node) -> list[Node]:
        cache = self.__dict__.setdefault("_outs", {})
        key = id(plan)
        if key not in cache:
            cache[key] = self.output(plan)
        return cache[key]

    def _aliases(self, expr: Node) -> None:
        if expr.kind == "Alias" and expr.children:
            eid = _expr_id(expr)
            if eid is not None:
                self.info[eid] = self.expression(expr.children[0])
        for child in expr.children:
            self._aliases(child)


def lineage(plan_json: Any, columns: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Per output column: the input columns it derives from, those it carries raw, via what.

    ``columns``: every input's column names (from the sample's schema, not the pipeline).
    """
    root = tree(plan_json)
    tracer = Tracer(columns)
    out: dict[str, dict[str, Any]] = {}
    for attr in tracer._outputs_of(root):
        name = str(attr.fields.get("name", ""))
        info = tracer.attr(attr)  # an attribute or an Alias: both carry the exprId
        out[name] = {
            "sources": sorted([list(s) for s in info.sources]),
            "raw_sources": sorted([list(s) for s in info.raw]),
            "via": sorted(info.via),
        }
    return out


def pii_findings(
    output: str,
    columns: dict[str, dict[str, Any]],
    pii: dict[str, dict[str, str]],
    justified: dict[str, str],
) -> list[dict[str, Any]]:
    """High findings for output columns that carry a PII input column raw, unless justified.

    ``pii`` maps input -> {column: pii_type} for the inputs' classified PII columns.
    """
    findings = []
    for column, info in columns.items():
        raw = [(i, c) for i, c in info["raw_sources"] if pii.get(i, {}).get(c, "none") != "none"]
        if not raw:
            continue
        sources = ", ".join(f"{i}.{c} ({pii[i][c]})" for i, c in raw)
        justification = justified.get(column)
        findings.append(
            {
                "rule": "LINEAGE001",
                "severity": "info" if justification else "high",
                "output": output,
                "column": column,
                "message": f"{output}.{column} carries {sources} without masking, hashing or "
                f"aggregation",
                "justification": justification,
            }
        )
    return findings
