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
import base64
import binascii
import builtins
import codecs
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    title: str
    rationale: str
    severity: str = "high"


RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule("NET001", "network", "Network access",
             "A pipeline runs where real data is; any network client could send it away. "
             "Inputs and outputs travel only through ctx."),
        Rule("PROC001", "processes", "Starting processes",
             "A child process escapes every check the scanner makes on Python code."),
        Rule("DYN001", "dynamic code", "Dynamic code",
             "Code built or imported at run time cannot be reviewed; eval/exec/compile, "
             "__import__, importlib, computed getattr on modules and interpreter internals "
             "are how scanners are evaded."),
        Rule("NAT001", "native code", "Native code and the JVM gateway",
             "ctypes/cffi and Spark's py4j handles (_jvm, _jdf, _jsc) run arbitrary native or "
             "Java code, out of the scanner's sight."),
        Rule("SER001", "serialization", "Serialization to disk",
             "pickle, marshal, shelve, dill and joblib write (or execute) data outside ctx."),
        Rule("FILE001", "files", "File access outside ctx",
             "Reading or writing files lands real data where nobody reviews it, or pulls in "
             "unreviewed inputs."),
        Rule("SPARK001", "spark io", "Spark reads or writes outside ctx",
             "DataFrame writers, saveAsTable, RDD saves, spark.read by path and SQL that "
             "writes tables or directories bypass the declared inputs and outputs."),
        Rule("SQL001", "spark io", "SQL that reads or writes outside ctx",
             "INSERT, CREATE TABLE … AS, LOAD DATA, ADD JAR/FILE and path-based tables in "
             "spark.sql land or fetch data the manifest does not declare."),
        Rule("LAND001", "implicit landing", "Implicit data landing",
             "Disk persistence, checkpoints, and collect()/toPandas() of whole inputs copy real "
             "data to disk or into driver memory."),
        Rule("LAND002", "implicit landing", "Caching (may spill to disk)",
             "DataFrame.cache() uses MEMORY_AND_DISK: under memory pressure rows are spilled to "
             "local disk. Usually harmless; reviewers should know.", "medium"),
        Rule("LOG001", "sensitive output", "Row-level data to stdout or logs",
             "Printed or logged rows end up in task logs that many people read."),
        Rule("ENV001", "secrets", "Environment and secret access",
             "Environment variables hold credentials of the runtime; configuration comes "
             "through ctx.params."),
        Rule("SCAN001", "coverage", "File left out of the version",
             "Hidden files, caches and files of other types are not part of the version, so "
             "they never run; reviewers still see that they were there.", "low"),
        Rule("SCAN002", "coverage", "File the scanner cannot read",
             "Python the scanner cannot decode or parse cannot be cleared; it would be "
             "silence, not safety."),
        Rule("CTX001", "ctx", "Undeclared dataset",
             "ctx.read/ctx.write may only name datasets the manifest declares (and reviewers "
             "approve); a computed name cannot be checked."),
    ]
}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    file: str
    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --- what each rule matches ------------------------------------------------------------------

MODULE_RULES: dict[str, str] = {
    **dict.fromkeys(
        ["socket", "http", "urllib", "urllib2", "urllib3", "requests", "httpx", "aiohttp",
         "smtplib", "ftplib", "telnetlib", "poplib", "imaplib", "nntplib", "ssl", "xmlrpc",
         "websocket", "websockets", "paramiko", "pycurl", "socketserver", "asyncio.streams",
         "grpc", "boto3", "botocore", "webbrowser", "dns", "tornado.httpclient", "selectors",
         "pyspark.sql.connect"],
        "NET001",
    ),
    **dict.fromkeys(
        ["subprocess", "pty", "pexpect", "sh", "plumbum", "multiprocessing", "commands",
         "popen2", "concurrent.futures.process"],
        "PROC001",
    ),
    **dict.fromkeys(["importlib", "imp", "runpy", "code", "codeop", "zipimport"], "DYN001"),
    **dict.fromkeys(["ctypes", "_ctypes", "cffi", "mmap", "py4j"], "NAT001"),
    **dict.fromkeys(
        ["pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib",
         "dbm"],
        "SER001",
    ),
    **dict.fromkeys(
        ["shutil", "tempfile", "glob", "fileinput", "zipfile", "tarfile", "gzip", "bz2",
         "lzma", "sqlite3", "h5py", "fsspec", "pyarrow.fs", "pyarrow.parquet", "pyarrow.csv",
         "pyarrow.feather", "pyarrow.dataset"],
        "FILE001",
    ),
}  # fmt: skip

CALL_RULES: dict[str, str] = {
    **dict.fromkeys(
        ["builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__",
         "builtins.breakpoint", "builtins.globals", "builtins.locals", "builtins.vars"],
        "DYN001",
    ),
    **dict.fromkeys(["builtins.open", "io.open", "io.FileIO", "codecs.open", "os.open"],
                    "FILE001"),
    **dict.fromkeys(["builtins.input"], "PROC001"),
}  # fmt: skip

OS_PROC = {"system", "popen", "fork", "forkpty", "kill", "killpg", "startfile", "wait",
           "posix_spawn", "posix_spawnp", "execl", "execle", "execlp", "execlpe", "execv",
           "execve", "execvp", "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv",
           "spawnve", "spawnvp", "spawnvpe"}  # fmt: skip
OS_FILE = {"remove", "unlink", "rename", "renames", "replace", "makedirs", "mkdir", "rmdir",
           "removedirs", "chmod", "chown", "lchown", "link", "symlink", "truncate", "listdir",
           "scandir", "walk", "fwalk", "write", "read", "mkfifo", "mknod", "chdir", "chroot",
           "utime", "sendfile", "fdopen", "readlink", "stat", "lstat"}  # fmt: skip
OS_ENV = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
PATH_METHODS = {"write_text", "write_bytes", "read_text", "read_bytes", "open", "touch",
                "mkdir", "unlink", "rename", "replace", "rmdir", "symlink_to", "hardlink_to",
                "iterdir", "glob", "rglob", "chmod", "link_to", "exists", "is_file", "stat",
                "walk"}  # fmt: skip
PANDAS_WRITERS = {"to_csv", "to_parquet", "to_pickle", "to_excel", "to_hdf", "to_feather",
                  "to_orc", "to_stata", "to_sql", "to_json", "to_xml", "to_html", "to_latex",
                  "to_markdown", "to_clipboard", "to_string", "tofile", "to_spark_io",
                  "to_table", "to_delta"}  # fmt: skip
NUMPY_IO = {"save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "fromfile",
            "genfromtxt", "memmap", "fromregex"}  # fmt: skip
SPARK_SAVES = {"saveAsTable", "insertInto", "saveAsTextFile", "saveAsPickleFile",
               "saveAsHadoopFile", "saveAsNewAPIHadoopFile", "saveAsSequenceFile",
               "saveAsHadoopDataset", "saveAsNewAPIHadoopDataset", "writeTo",
               "mergeInto"}  # fmt: skip
SPARK_CONTEXT_READS = {"textFile", "wholeTextFiles", "binaryFiles", "binaryRecords",
                       "hadoopFile", "newAPIHadoopFile", "pickleFile", "sequenceFile",
                       "hadoopRDD", "newAPIHadoopRDD", "addFile", "addPyFile", "addArchive",
                       "addJar", "addArtifact", "addArtifacts"}  # fmt: skip
JVM_HANDLES = {"_jvm", "_jdf", "_jsc", "_jsparkSession", "_gateway", "_jrdd", "_jcol",
               "_jreader", "_jwrite", "_jconf", "_jseq"}  # fmt: skip
DUNDER_ESCAPES = {"__builtins__", "__globals__", "__subclasses__", "__code__", "__loader__",
                  "__import__", "__dict__", "__getattribute__", "__reduce__", "__mro__",
                  "__bases__", "__closure__", "__func__", "__self__", "__spec__"}  # fmt: skip
COLLECTORS = {"collect", "toPandas", "toLocalIterator", "toArrow", "collectAsList",
              "to_pandas"}  # fmt: skip
ROW_GETTERS = COLLECTORS | {"take", "head", "first", "tail", "show", "takeAsList",
                            "toJSON", "sample"}  # fmt: skip
BOUNDING = {"limit", "agg", "count", "groupBy", "groupby", "summary", "describe", "approxQuantile",
            "distinct", "rollup", "cube", "pivot", "sum", "avg", "mean", "max", "min"}  # fmt: skip
SAFE_GETATTR_MODULES = {"pyspark.sql.functions", "math", "operator", "statistics",
                        "pyspark.sql.types"}  # fmt: skip
JVM_SQL_FUNCTIONS = {"reflect", "java_method", "try_reflect"}
EXPR_METHODS = {"expr", "selectExpr", "filter", "where"}
VIEW_MAKERS = {"createOrReplaceTempView", "createTempView", "createGlobalTempView",
               "createOrReplaceGlobalTempView"}  # fmt: skip


class _Unknown:
    """Marker for a value the folder could not reduce to a constant."""


UNKNOWN = _Unknown()


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


def fold(node: ast.AST, constants: Mapping[str, str] | None = None) -> str | _Unknown:
    """The constant string ``node`` always evaluates to, or UNKNOWN."""
    constants = constants or {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return node.value if isinstance(node.value, str) else node.value.decode("latin-1")
    if isinstance(node, ast.Name):
        return constants.get(node.id, UNKNOWN)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = fold(node.left, constants), fold(node.right, constants)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        left = fold(node.left, constants)
        right = node.right.value if isinstance(node.right, ast.Constant) else None
        if isinstance(left, str) and isinstance(right, int) and 0 <= right < 100:
            return left * right
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            part = fold(value.value if isinstance(value, ast.FormattedValue) else value, constants)
            if not isinstance(part, str):
                return UNKNOWN
            parts.append(part)
        return "".join(parts)
    if isinstance(node, ast.Subscript):
        base = fold(node.value, constants)
        if isinstance(base, str) and isinstance(node.slice, ast.Slice):
            try:
                bounds = [
                    None if s is None else ast.literal_eval(s)
                    for s in (node.slice.lower, node.slice.upper, node.slice.step)
                ]
                return base[slice(*bounds)]
            except (ValueError, TypeError):
                return UNKNOWN
    if isinstance(node, ast.Call):
        return _fold_call(node, constants)
    return UNKNOWN


def _fold_call(node: ast.Call, constants: Mapping[str, str]) -> str | _Unknown:
    func = node.func
    args = [fold(a, constants) for a in node.args]
    if isinstance(func, ast.Name) and func.id == "chr" and len(node.args) == 1:
        try:
            return chr(ast.literal_eval(node.args[0]))
        except (ValueError, TypeError):
            return UNKNOWN
    if isinstance(func, ast.Name) and func.id == "str" and len(args) == 1:
        return args[0]
    if not isinstance(func, ast.Attribute):
        return UNKNOWN
    owner = fold(func.value, constants)
    if func.attr == "join" and isinstance(owner, str) and len(node.args) == 1:
        items = node.args[0]
        if isinstance(items, ast.List | ast.Tuple | ast.Set):
            parts = [fold(e, constants) for e in items.elts]
            if all(isinstance(p, str) for p in parts):
                return owner.join(parts)  # type: ignore[arg-type]
        return UNKNOWN
    if isinstance(owner, str) and all(isinstance(a, str) for a in args):
        method = {
            "lower": str.lower, "upper": str.upper, "strip": str.strip, "lstrip": str.lstrip,
            "rstrip": str.rstrip, "replace": str.replace, "format": str.format,
            "decode": lambda s, *a: s, "encode": lambda s, *a: s, "title": str.title,
            "casefold": str.casefold, "swapcase": str.swapcase,
        }.get(func.attr)  # fmt: skip
        if method is not None:
            try:
                return method(owner, *args)  # type: ignore[operator]
            except (TypeError, ValueError, IndexError, KeyError):
                return UNKNOWN
    # base64.b64decode("c29ja2V0"), bytes.fromhex("736f636b6574"), codecs.decode(x, "rot13")
    target = _dotted(func)
    if target and len(args) >= 1 and isinstance(args[0], str):
        try:
            if target.endswith(("b64decode", "standard_b64decode", "urlsafe_b64decode")):
                return base64.b64decode(args[0]).decode("latin-1")
            if target.endswith("b32decode"):
                return base64.b32decode(args[0]).decode("latin-1")
            if target.endswith("fromhex") or target.endswith("unhexlify"):
                return binascii.unhexlify(args[0]).decode("latin-1")
            if target.endswith("codecs.decode") and len(args) == 2 and isinstance(args[1], str):
                return codecs.decode(args[0], args[1])
        except (ValueError, binascii.Error, LookupError, TypeError):
            return UNKNOWN
    return UNKNOWN


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


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
        text = _fold_sql(node.args[0], self.an.constants)
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


def _fold_sql(node: ast.AST, constants: Mapping[str, str]) -> str | None:
    """SQL text with formatted values replaced by a literal placeholder, or None."""
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                folded = fold(value.value, constants)
                parts.append(folded if isinstance(folded, str) else "0")
            else:
                parts.append(str(value.value))
        return "".join(parts)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(base := fold(node.func.value, constants), str)
    ):
        return _blank(base)
    folded = fold(node, constants)
    return folded if isinstance(folded, str) else None


def _blank(template: str) -> str:
    import re

    return re.sub(r"\{[^{}]*\}", "0", template)


def sql_problems(sql: str, views: Iterable[str] = ()) -> list[str]:
    """What in ``sql`` reads or writes outside ctx (empty when it only queries temp views)."""
    import sqlglot
    from sqlglot import exp

    views = {v.lower() for v in views}
    try:
        statements = sqlglot.parse(sql, read="spark")
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        return [f"SQL the scanner cannot parse (so cannot clear): {first[:120]}"]
    problems: list[str] = []
    for stmt in statements:
        if stmt is None:
            continue
        if isinstance(stmt, exp.Insert):
            problems.append("SQL INSERT writes outside ctx (INSERT INTO/OVERWRITE, DIRECTORY)")
        elif isinstance(stmt, exp.Create):
            kind = (stmt.args.get("kind") or "").upper()
            temp = any(isinstance(p, exp.TemporaryProperty) for p in stmt.find_all(exp.Property))
            if not (kind == "VIEW" and temp):
                problems.append(f"SQL CREATE {kind or ''} writes outside ctx".replace("  ", " "))
        elif isinstance(stmt, exp.LoadData):
            problems.append("SQL LOAD DATA reads files outside ctx")
        elif isinstance(stmt, exp.Command):
            word = (stmt.this or "").upper()
            if word in ("ADD", "LOAD", "INSERT", "CACHE", "REFRESH", "MSCK", "SET", "RESET"):
                problems.append(f"SQL {word} … is not allowed in a pipeline")
            else:
                problems.append(f"SQL command {word} the scanner cannot clear")
        elif isinstance(stmt, exp.Drop | exp.Alter | exp.Delete | exp.Update | exp.Merge):
            problems.append(f"SQL {stmt.key.upper()} changes tables outside ctx")
        if any(True for _ in stmt.find_all(exp.QueryTransform)):
            problems.append("SQL TRANSFORM … USING runs a command on every executor")
        for call in stmt.find_all(exp.Anonymous, exp.Func):
            name = (call.name if isinstance(call, exp.Anonymous) else call.sql_name()).lower()
            if name in JVM_SQL_FUNCTIONS:
                problems.append(f"SQL {name}() calls Java methods directly")
        ctes = {c.alias_or_name.lower() for c in stmt.find_all(exp.CTE)}
        created = stmt.this if isinstance(stmt, exp.Create) else None
        targets = {id(t) for t in created.find_all(exp.Table)} if created is not None else set()
        for table in stmt.find_all(exp.Table):
            if id(table) in targets:
                continue
            name = table.name.lower()
            db = (table.db or "").lower()
            if db in ("parquet", "csv", "json", "orc", "text", "delta", "avro", "binaryfile"):
                problems.append(f"SQL reads files by path ({db}.`…`)")
            elif name and name not in views and name not in ctes and not db:
                problems.append(
                    f"SQL reads table {table.name!r}, which is not a temp view of ctx data"
                )
            elif db:
                problems.append(f"SQL reads catalog table {db}.{table.name}")
    return list(dict.fromkeys(problems))


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
