"""Column lineage from Spark's analyzed plan: which input columns reach each output column,
through which expressions.

Every attribute in a Catalyst plan has an ``exprId``; an input DataFrame's output attributes
are recorded when ``ctx.read`` returns it, and each named expression further up (``Alias``
in projections, aggregates, windows; union outputs; generators) derives its sources from
the attributes it references. An output column is *raw* when some path from a PII input
column reaches it through nothing but identity-like expressions (references, aliases,
casts, trims, case changes, coalesce, concatenation, conditionals) or value-preserving
aggregates (first, last, min, max, collect_list/set, any_value); anything else on the path
(hashes, Spark's ``mask``, ``regexp_replace``, substrings, arithmetic, count/avg/sum …)
counts as a transformation the reviewers see by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IDENTITY = {
    "AttributeReference", "Alias", "Cast", "Upper", "Lower", "StringTrim", "StringTrimLeft",
    "StringTrimRight", "Coalesce", "Concat", "ConcatWs", "If", "CaseWhen", "NaNvl",
    "KnownNotNull", "KnownFloatingPointNormalized", "NormalizeNaNAndZero", "PromotePrecision",
    "CheckOverflow", "Literal", "AggregateExpression", "First", "Last", "Max", "Min",
    "CollectList", "CollectSet", "AnyValue", "Nvl", "Nvl2", "IfNull", "InitCap", "OuterReference",
    "NamedLambdaVariable", "CreateNamedStruct", "GetStructField", "ElementAt", "Explode",
    "GetArrayItem", "ToPrettyString", "Greatest", "Least", "StaticInvoke", "TryCast",
    "Invoke", "PythonUDF",
}  # fmt: skip
# A Python UDF is opaque: counted as identity (raw) so the reviewer must justify it.


@dataclass
class ColumnInfo:
    sources: set[tuple[str, str]] = field(default_factory=set)
    raw_sources: set[tuple[str, str]] = field(default_factory=set)
    via: set[str] = field(default_factory=set)


def _seq(scala_seq: Any) -> list[Any]:
    return [scala_seq.apply(i) for i in range(scala_seq.size())]


def _cls(obj: Any) -> str:
    return obj.getClass().getSimpleName().rstrip("$")


class Sources(dict):
    """exprId -> (dataset, column) of the inputs read, plus their leaf relations, so that a
    relation the analyzer re-instanced with fresh exprIds (self-joins) is still recognised."""

    def __init__(self) -> None:
        super().__init__()
        self.leaves: list[tuple[Any, str, list[str]]] = []

    def add(self, df: Any, dataset: str) -> None:
        plan = df._jdf.queryExecution().analyzed()
        for a in _seq(plan.output()):
            self[a.exprId().id()] = (dataset, a.name())
        for leaf in _leaves(plan):
            self.leaves.append((leaf, dataset, [a.name() for a in _seq(leaf.output())]))


def _leaves(plan: Any) -> list[Any]:
    children = _seq(plan.children())
    if not children:
        return [plan]
    return [leaf for child in children for leaf in _leaves(child)]


def input_attributes(df: Any, dataset: str) -> Sources:
    """The sources of one DataFrame just read (see ``Sources``)."""
    sources = Sources()
    sources.add(df, dataset)
    return sources


class _Tracer:
    def __init__(self, sources: dict[int, tuple[str, str]]) -> None:
        self.info: dict[int, ColumnInfo] = {
            eid: ColumnInfo({src}, {src}) for eid, src in sources.items()
        }
        self.leaves = getattr(sources, "leaves", [])

    def _leaf(self, node: Any) -> None:
        """A relation with unknown attributes that is the same data as an input read."""
        attrs = _seq(node.output())
        if not attrs or all(a.exprId().id() in self.info for a in attrs):
            return
        for leaf, dataset, columns in self.leaves:
            if len(columns) == len(attrs) and node.sameResult(leaf):
                for attr, column in zip(attrs, columns, strict=True):
                    self.info.setdefault(
                        attr.exprId().id(),
                        ColumnInfo({(dataset, column)}, {(dataset, column)}),
                    )
                return

    def attr(self, eid: int) -> ColumnInfo:
        return self.info.get(eid) or ColumnInfo()

    def expression(self, expr: Any) -> ColumnInfo:
        """Sources of ``expr``; raw sources only through identity-like nodes."""
        name = _cls(expr)
        if name in ("AttributeReference", "OuterReference"):
            return self.attr(expr.exprId().id()) if name == "AttributeReference" else ColumnInfo()
        out = ColumnInfo()
        children = _seq(expr.children())
        if name == "WindowExpression":  # the partition/order spec is not what is output
            function = self.expression(expr.windowFunction())
            function.via.add("window")
            for spec_child in children[1:]:
                function.sources |= self.expression(spec_child).sources
            return function
        for child in children:
            sub = self.expression(child)
            out.sources |= sub.sources
            out.via |= sub.via
            if name in IDENTITY:
                out.raw_sources |= sub.raw_sources
        if name not in ("Alias", "AttributeReference", "Literal"):
            out.via.add(_pretty(name))
        return out

    def plan(self, node: Any) -> None:
        children = _seq(node.children())
        if not children:
            self._leaf(node)
        for child in children:
            self.plan(child)
        kind = _cls(node)
        if kind == "Union":
            outputs = _seq(node.output())
            for child in _seq(node.children()):
                for attr, src in zip(outputs, _seq(child.output()), strict=False):
                    merged = self.info.setdefault(attr.exprId().id(), ColumnInfo())
                    other = self.attr(src.exprId().id())
                    if attr.exprId().id() != src.exprId().id():
                        merged.sources |= other.sources
                        merged.raw_sources |= other.raw_sources
                        merged.via |= other.via
            return
        for expr in _seq(node.expressions()):
            self._named(expr)
        if kind == "Generate":
            generator = node.generator()
            info = self.expression(generator)
            for attr in _seq(node.generatorOutput()):
                self.info[attr.exprId().id()] = info

    def _named(self, expr: Any) -> None:
        """Record every Alias inside ``expr`` (projections, aggregates, windows)."""
        if _cls(expr) == "Alias":
            self.info[expr.exprId().id()] = self.expression(expr.child())
        for child in _seq(expr.children()):
            self._named(child)


def _pretty(name: str) -> str:
    return {"AggregateExpression": "aggregate"}.get(name, name)


def lineage(df: Any, sources: dict[int, tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """Per output column: input columns it derives from, those it carries raw, and via what."""
    plan = df._jdf.queryExecution().analyzed()
    tracer = _Tracer(sources)
    tracer.plan(plan)
    out: dict[str, dict[str, Any]] = {}
    for attr in _seq(plan.output()):
        info = tracer.attr(attr.exprId().id())
        out[attr.name()] = {
            "sources": sorted([list(s) for s in info.sources]),
            "raw_sources": sorted([list(s) for s in info.raw_sources]),
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
