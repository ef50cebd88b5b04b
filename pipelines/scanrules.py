"""The scanner's rule catalogue and what each rule matches (data only; docs/scanner-rules.md
has the rationale with bad and good examples)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
