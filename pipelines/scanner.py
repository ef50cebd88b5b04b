"""The risk scanner: static checks that pipeline code does its I/O only through ``ctx``.

It reads the Python AST (never runs the code) and the SQL passed to ``spark.sql`` (parsed
with sqlglot's Spark dialect). Names are resolved through imports, aliases and simple
assignments (``import requests as rq``, ``from os import system as s``, ``f = os.system``),
and constant strings are folded (``"so" + "cket"``, f-strings, ``"".join``, ``[::-1]``,
``chr``, base64/hex decoding), so ``getattr(__import__("so" + "cket"), "socket")`` is seen
as ``socket.socket``. Words in comments and ordinary strings are never findings.

Each rule has an id, a category, a default severity (high: blocks) and a rationale; the
catalogue with bad/good examples is docs/scanner-rules.md.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipelines.scanfold import UNKNOWN, fold, fold_sql
from pipelines.scanrules import (
    BOUNDING,
    CALL_RULES,
    COLLECTORS,
    DUNDER_ESCAPES,
    EXPR_METHODS,
    JVM_HANDLES,
    JVM_SQL_FUNCTIONS,
    MODULE_RULES,
    NUMPY_IO,
    OS_ENV,
    OS_FILE,
    OS_PROC,
    PANDAS_WRITERS,
    PATH_METHODS,
    ROW_GETTERS,
    RULES,
    SAFE_GETATTR_MODULES,
    SEVERITIES,
    SPARK_CONTEXT_READS,
    SPARK_SAVES,
    VIEW_MAKERS,
    Finding,
)
from pipelines.scansql import sql_problems

__all__ = ["RULES", "SEVERITIES", "UNKNOWN", "Finding", "Scanner", "fold", "report", "sql_problems"]


class _Analysis:
    """Aliases and constants of one module, collected flow-insensitively."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.constants: dict[str, str] = {}
        self.rows: set[str] = set()  # names bound to collected rows
        self.views: set[str] = set()  # temp views the code registers
        self.ctx_names: set[str] = {"ctx"}
        self.spark_names: set[str] = {"spark", "sc"}
        self.functions = {
            n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "run":
                args = node.args.posonlyargs + node.args.args
                if args:
                    self.ctx_names.add(args[0].arg)
        for _ in range(3):  # aliases of aliases
            for node in ast.walk(tree):
                self._collect(node)

    def _collect(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    self.aliases.setdefault(top, top)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            if value is None:
                return
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                const = fold(value, self.constants)
                if isinstance(const, str):
                    self.constants[target.id] = const
                    continue
                qual = resolve(value, self)
                if qual and target.id not in self.ctx_names:
                    self.aliases[target.id] = qual
                if _is_row_getter(value):
                    self.rows.add(target.id)
                text = ast.unparse(value)
                if any(s in text for s in (".spark", "SparkSession", "sparkSession",
                                           "sparkContext", "SparkContext")):  # fmt: skip
                    self.spark_names.add(target.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in VIEW_MAKERS
            and node.args
            and isinstance(name := fold(node.args[0], self.constants), str)
        ):
            self.views.add(name.lower())
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    qual = resolve(item.context_expr, self)
                    if qual:
                        self.aliases[item.optional_vars.id] = qual
        elif (
            isinstance(node, ast.For)
            and isinstance(node.target, ast.Name)
            and (
                _is_row_getter(node.iter)
                or (isinstance(node.iter, ast.Name) and node.iter.id in self.rows)
            )
        ):
            self.rows.add(node.target.id)


def resolve(node: ast.AST, an: _Analysis) -> str | None:
    """Fully qualified name ``node`` refers to (through aliases), or None."""
    if isinstance(node, ast.Name):
        if node.id in an.aliases:
            return an.aliases[node.id]
        if node.id in ("__builtins__",):
            return "builtins"
        if hasattr(builtins, node.id):
            return f"builtins.{node.id}"
        return None
    if isinstance(node, ast.Attribute):
        base = resolve(node.value, an)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Subscript):
        base = resolve(node.value, an)
        key = fold(node.slice, an.constants)
        if base in ("sys.modules", "builtins.__dict__", "builtins") and isinstance(key, str):
            return key if base == "sys.modules" else f"builtins.{key}"
        return None
    if isinstance(node, ast.Call):
        func = resolve(node.func, an)
        if func in ("builtins.__import__", "importlib.import_module", "importlib.__import__"):
            if node.args and isinstance(name := fold(node.args[0], an.constants), str):
                return name
            return None
        if func == "builtins.getattr" and len(node.args) >= 2:
            base = resolve(node.args[0], an)
            attr = fold(node.args[1], an.constants)
            if base and isinstance(attr, str):
                return f"{base}.{attr}"
            return None
        if func and func.startswith("pathlib."):
            return f"{func}()"
        return None
    return None


def _is_row_getter(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ROW_GETTERS
    )


def _chain(node: ast.AST) -> list[str]:
    """Method names along a call chain: df.groupBy(..).agg(..).collect() -> [.., agg, collect]."""
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            break
    return names[::-1]


def _module_rule(name: str) -> str | None:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        rule = MODULE_RULES.get(".".join(parts[:i]))
        if rule:
            return rule
    return None


def _qualified_rule(qual: str) -> tuple[str, str] | None:
    """(rule, what) for a fully qualified call or attribute target."""
    if qual in CALL_RULES:
        return CALL_RULES[qual], qual.removeprefix("builtins.")
    parts = qual.split(".")
    if parts[0] in ("os", "posix", "nt") and len(parts) >= 2:
        if parts[1] in OS_PROC:
            return "PROC001", qual
        if parts[1] in OS_ENV:
            return "ENV001", qual
        if parts[1] in OS_FILE:
            return "FILE001", qual
    if parts[0] == "pathlib" and parts[-1] in PATH_METHODS and qual.count("()"):
        return "FILE001", qual.replace("()", "(…)")
    if parts[0] in ("pandas", "pyspark") and parts[-1].startswith("read_"):
        return "FILE001", qual
    if parts[0] == "numpy" and parts[-1] in NUMPY_IO:
        return "FILE001", qual
    rule = _module_rule(qual)
    if rule:
        return rule, qual
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, scanner: Scanner, an: _Analysis, file: str) -> None:
        self.s = scanner
        self.an = an
        self.file = file
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, int]] = set()

    def add(self, rule: str, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", 0)
        key = (rule, line)
        if key in self._seen:
            return
        self._seen.add(key)
        self.findings.append(Finding(rule, self.s.severity(rule), self.file, line, message))

    # imports
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if rule := _module_rule(a.name):
                self.add(rule, node, f"imports {a.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            if any(a.name == "*" for a in node.names) and node.module.split(".")[0] in (
                "os", "posix", "builtins", "sys", "io", "pathlib",
            ):  # fmt: skip
                self.add("DYN001", node, f"from {node.module} import * hides what is used")
            for a in node.names:
                qual = f"{node.module}.{a.name}"
                hit = _qualified_rule(qual) or (
                    (r, node.module) if (r := _module_rule(node.module)) else None
                )
                if hit:
                    self.add(hit[0], node, f"imports {qual}")
        self.generic_visit(node)

    # names and attributes
    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in JVM_HANDLES:
            self.add("NAT001", node, f"uses Spark's JVM handle .{node.attr}")
        elif node.attr in DUNDER_ESCAPES:
            self.add("DYN001", node, f"reaches interpreter internals via .{node.attr}")
        qual = resolve(node, self.an)
        if qual:
            parts = qual.split(".")
            if parts[0] in ("os", "posix") and len(parts) == 2 and parts[1] in OS_ENV:
                self.add("ENV001", node, f"reads the environment ({qual})")
            elif not isinstance(getattr(node, "_parent", None), ast.Call) or (
                node._parent.func is not node  # type: ignore[attr-defined]
            ):
                hit = _qualified_rule(qual)  # a reference (f = os.system) is as bad as a call
                if hit and hit[0] != "FILE001":
                    self.add(hit[0], node, f"refers to {hit[1]}")
        # df.write.parquet(…) / spark.read.csv(…): the property, not a file's .write(x)
        used_as_property = isinstance(getattr(node, "_parent", None), ast.Attribute)
        property_use = used_as_property or node.attr in ("writeStream", "readStream")
        if property_use and not self._is_ctx(node.value):
            if node.attr in ("write", "writeStream"):
                self.add("SPARK001", node, f".{node.attr} outside ctx: use ctx.write(name, df)")
            elif node.attr in ("read", "readStream") and self._looks_like_spark(node.value):
                self.add("SPARK001", node, f"spark.{node.attr} outside ctx: use ctx.read(name)")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("__builtins__",):
            self.add("DYN001", node, "reaches __builtins__")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        qual = resolve(node.value, self.an)
        if qual in ("sys.modules", "builtins.__dict__"):
            self.add("DYN001", node, f"looks up {qual}[…]")
        self.generic_visit(node)

    # calls
    def visit_Call(self, node: ast.Call) -> None:
        qual = resolve(node.func, self.an)
        if qual:
            hit = _qualified_rule(qual)
            if hit:
                self.add(hit[0], node, f"calls {hit[1]}")
            if qual in ("builtins.__import__", "importlib.import_module") and node.args:
                target = resolve(node, self.an)
                if target and (rule := _module_rule(target)):
                    self.add(rule, node, f"imports {target} dynamically")
                elif target is None:
                    self.add("DYN001", node, "imports a module whose name is computed")
            if qual == "builtins.getattr" and len(node.args) >= 2:
                self._getattr(node)
            if (
                qual.split(".")[-1] in ("print",)
                or qual.startswith("logging.")
                or (qual.startswith(("sys.stdout", "sys.stderr", "warnings.")))
            ):
                self._output(node, qual)
        func = node.func
        if isinstance(func, ast.Attribute):
            self._method(node, func)
        self.generic_visit(node)

    def _getattr(self, node: ast.Call) -> None:
        target = resolve(node, self.an)
        if target is not None:
            hit = _qualified_rule(target)
            if hit:
                self.add(hit[0], node, f"reaches {hit[1]} through getattr")
            return
        base = resolve(node.args[0], self.an)
        is_module = base is not None and (
            base in self.an.aliases.values() or _module_rule(base) or "." not in base
        )
        if is_module and base not in SAFE_GETATTR_MODULES:
            self.add("DYN001", node, f"getattr on module {base} with a computed name")

    def _method(self, node: ast.Call, func: ast.Attribute) -> None:
        name = func.attr
        on_ctx = self._is_ctx(func.value)
        if on_ctx and name in ("read", "write"):
            self._ctx_io(node, name)
            return
        if on_ctx and name in ("log",):
            return
        if self._is_ctx_log(func.value):
            self._output(node, "ctx.log")
            return
        if name in SPARK_SAVES:
            self.add("SPARK001", node, f".{name}() writes outside ctx")
        elif name in SPARK_CONTEXT_READS:
            self.add("SPARK001", node, f"sparkContext.{name}() reads or ships files outside ctx")
        elif name == "table" and self._looks_like_spark(func.value):
            self.add("SPARK001", node, "spark.table() reads a table outside ctx")
        elif name == "sql" and self._looks_like_spark(func.value):
            self._sql(node)
        elif name in EXPR_METHODS:
            self._expressions(node)
        elif name == "pipe" and self._is_command_pipe(node, func):
            self.add("PROC001", node, ".pipe() runs a command on every executor")
        elif name in ("checkpoint", "localCheckpoint", "setCheckpointDir"):
            self.add("LAND001", node, f".{name}() lands data on disk")
        elif name == "persist":
            text = ast.unparse(node)
            if "DISK" in text or not node.args:
                self.add("LAND001", node, ".persist() with a disk storage level")
        elif name == "cache" and not node.args:
            self.add("LAND002", node, ".cache() may spill rows to local disk")
        elif name in COLLECTORS:
            chain = _chain(node)
            if not BOUNDING & set(chain[:-1]):
                self.add("LAND001", node, f".{name}() of a whole DataFrame lands it in the driver")
        elif name == "show":
            self.add("LOG001", node, ".show() prints rows to stdout")
        elif name in PANDAS_WRITERS and (node.args or _has_path_kw(node)):
            self.add("FILE001", node, f".{name}(path) writes a file outside ctx")

    def _ctx_io(self, node: ast.Call, name: str) -> None:
        declared = self.s.inputs if name == "read" else self.s.outputs
        if not node.args:
            return
        dataset = fold(node.args[0], self.an.constants)
        if not isinstance(dataset, str):
            self.add("CTX001", node, f"ctx.{name} with a computed dataset name")
        elif declared is not None and dataset not in declared:
            kind = "inputs" if name == "read" else "outputs"
            self.add("CTX001", node, f"ctx.{name}({dataset!r}) is not among the declared {kind}")

    def _output(self, node: ast.Call, where: str) -> None:
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            for sub in ast.walk(arg):
                if _is_row_getter(sub):
                    self.add("LOG001", node, f"{where} of rows ({ast.unparse(sub)[:60]})")
                    return
                parent = getattr(sub, "_parent", None)
                counted = (
                    isinstance(parent, ast.Call)
                    and isinstance(parent.func, ast.Name)
                    and parent.func.id in ("len", "bool", "type")
                )
                if isinstance(sub, ast.Name) and sub.id in self.an.rows and not counted:
                    self.add("LOG001", node, f"{where} of rows ({sub.id})")
                    return
                if isinstance(sub, ast.Subscript):
                    key = fold(sub.slice, self.an.constants)
                    if isinstance(key, str) and key.lower() in self.s.sensitive:
                        self.add("LOG001", node, f"{where} of sensitive column {key!r}")
                        return
                if isinstance(sub, ast.Attribute) and sub.attr.lower() in self.s.sensitive:
                    self.add("LOG001", node, f"{where} of sensitive column {sub.attr!r}")
                    return

    def _expressions(self, node: ast.Call) -> None:
        """SQL expression strings (F.expr, selectExpr, filter): no JVM reflection."""
        for arg in node.args:
            text = fold(arg, self.an.constants)
            if not isinstance(text, str):
                continue
            lowered = text.lower()
            for function in JVM_SQL_FUNCTIONS:
                if f"{function}(" in lowered.replace(" ", ""):
                    self.add("SQL001", node, f"SQL expression calls {function}(): Java methods")
                    return

    def _sql(self, node: ast.Call) -> None:
        if not node.args:
            return
        text = fold_sql(node.args[0], self.an.constants)
        if text is None:
            self.add("SQL001", node, "spark.sql with SQL that is not a (formatted) constant")
            return
        for problem in sql_problems(text, self.an.views):
            self.add("SQL001", node, problem)

    # helpers
    def _is_command_pipe(self, node: ast.Call, func: ast.Attribute) -> bool:
        """RDD.pipe(command) (a string, an argv list, anything computed), not pandas'
        pipe(function) with a lambda or a function defined or imported here."""
        if not node.args:
            return any(k.arg == "command" for k in node.keywords)
        arg = node.args[0]
        if "rdd" in ast.unparse(func.value).lower():
            return True
        if isinstance(arg, ast.Lambda):
            return False
        if isinstance(arg, ast.Name) and arg.id in self.an.functions:
            return False
        return isinstance(fold(arg, self.an.constants), str) or resolve(arg, self.an) is None

    def _is_ctx(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in self.an.ctx_names

    def _is_ctx_log(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "log" and self._is_ctx(node.value)

    def _looks_like_spark(self, node: ast.AST) -> bool:
        """A SparkSession or SparkContext: ctx.spark, spark, SparkSession.builder…, sc."""
        text = ast.unparse(node)
        qual = resolve(node, self.an) or ""
        return (
            "spark" in text.lower()
            or (isinstance(node, ast.Name) and node.id in self.an.spark_names)
            or "sparkContext" in text
            or qual.startswith("pyspark")
            or (isinstance(node, ast.Attribute) and node.attr in ("spark", "sparkSession"))
        )


def _has_path_kw(node: ast.Call) -> bool:
    return any(k.arg in ("path", "path_or_buf", "buf", "excel_writer", "fname", "file",
                         "name", "con") for k in node.keywords)  # fmt: skip


class Scanner:
    """Scan a pipeline folder (or source text) for code that reaches around ctx."""

    def __init__(
        self,
        inputs: Iterable[str] | None = None,
        outputs: Iterable[str] | None = None,
        severities: Mapping[str, str] | None = None,
        sensitive_columns: Iterable[str] = (),
    ) -> None:
        self.inputs = set(inputs) if inputs is not None else None
        self.outputs = set(outputs) if outputs is not None else None
        self.overrides = dict(severities or {})
        self.sensitive = {c.lower() for c in sensitive_columns}

    def severity(self, rule: str) -> str:
        return self.overrides.get(rule, RULES[rule].severity)

    def scan_source(self, source: str, file: str = "main.py") -> list[Finding]:
        tree = ast.parse(source, filename=file)
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                child._parent = parent  # type: ignore[attr-defined]
        visitor = _Visitor(self, _Analysis(tree), file)
        visitor.visit(tree)
        return sorted(visitor.findings, key=lambda f: (f.file, f.line, f.rule))

    def scan_folder(self, folder: Path) -> list[Finding]:
        """Scan what a version of ``folder`` would hold (paths relative to the folder)."""
        from pipelines.manifest import take_snapshot

        snapshot = take_snapshot(folder)
        return self.scan_files(snapshot.files, snapshot.skipped)

    def scan_files(
        self, files: Mapping[str, bytes], skipped: Mapping[str, str] | None = None
    ) -> list[Finding]:
        """Scan a snapshot (relative path -> bytes); ``skipped``: what it left out, and why.

        Every Python file is parsed; one that cannot be decoded or parsed is a high
        finding, and every file left out is a low one, so nothing is passed over silently.
        """
        findings = [
            Finding("SCAN001", self.severity("SCAN001"), rel, 0, f"left out of the version: {why}")
            for rel, why in sorted((skipped or {}).items())
        ]
        for rel in sorted(files):
            if not rel.endswith(".py"):
                continue
            try:
                source = files[rel].decode("utf-8")
                findings += self.scan_source(source, rel)
            except UnicodeDecodeError as exc:
                findings.append(
                    Finding(
                        "SCAN002",
                        self.severity("SCAN002"),
                        rel,
                        0,
                        f"not UTF-8 text (byte {exc.start}); cannot be scanned",
                    )
                )
            except (SyntaxError, ValueError) as exc:
                line = getattr(exc, "lineno", None) or 0
                msg = getattr(exc, "msg", None) or str(exc)
                findings.append(
                    Finding(
                        "SCAN002",
                        self.severity("SCAN002"),
                        rel,
                        line,
                        f"cannot be parsed ({msg}); cannot be scanned",
                    )
                )
        return sorted(findings, key=lambda f: (f.file, f.line, f.rule))


def report(findings: list[Finding], waived: Iterable[tuple[str, str, int]] = ()) -> dict[str, Any]:
    """The JSON report: blocked when a high finding is not waived."""
    waived = set(waived)
    out = []
    for f in findings:
        item = f.to_json()
        item["waived"] = (f.rule, f.file, f.line) in waived
        out.append(item)
    blocked = any(f["severity"] == "high" and not f["waived"] for f in out)
    return {"blocked": blocked, "findings": out}
