"""Readers for registrable sources: CSV file, Parquet file or folder, SQL table.

Each reader answers three questions behind one small interface: the schema, a bounded
sample of values per column (the *probe*: never the whole source), and a content
fingerprint that names the version.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Protocol

from hub.errors import DatabaseUnavailable, InvalidSource
from hub.hashing import canonical_json, hasher

Progress = Callable[[int, int | None], None]  # (done, total) in the reader's unit
CHUNK = 1 << 20


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # one of hub.classification.DATA_TYPES


@dataclass(frozen=True)
class Fingerprint:
    content_hash: str
    row_count: int | None
    size_bytes: int | None


@dataclass(frozen=True)
class Probe:
    columns: list[Column]
    values: dict[str, list[str | None]] = field(default_factory=dict)


class Source(Protocol):
    format: ClassVar[str]
    progress_unit: ClassVar[str]

    def probe(self, rows: int) -> Probe: ...

    def fingerprint(self, algorithm: str, progress: Progress | None = None) -> Fingerprint: ...


# --- type inference for text cells -----------------------------------------------------

_INT = re.compile(r"[+-]?(?:0|[1-9]\d{0,14})")
_DEC = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}/\d{1,2}/\d{1,2}")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_BOOL = {"true", "false"}


def infer_text_type(values: Sequence[str | None]) -> str:
    """The narrowest logical type that every non-empty value fits; ``string`` otherwise.

    Numbers with leading zeros (codes such as ``007``) stay strings, as do digit runs of
    more than 15 digits (card and ID numbers: beyond exact float precision), so no
    information is lost.
    """
    present = [v.strip() for v in values if v is not None and v.strip() != ""]
    if not present:
        return "string"
    checks: list[tuple[str, Callable[[str], bool]]] = [
        ("integer", lambda v: _INT.fullmatch(v) is not None),
        ("decimal", _is_decimal),
        ("boolean", lambda v: v.lower() in _BOOL),
        ("date", lambda v: _DATE.fullmatch(v) is not None and _parses_date(v)),
        ("timestamp", lambda v: _TS.fullmatch(v) is not None),
    ]
    for name, ok in checks:
        if all(ok(v) for v in present):
            return name
    return "string"


def _is_decimal(v: str) -> bool:
    digits = v.lstrip("+-")
    long_digit_run = digits.isdigit() and len(digits) > 15  # an identifier, not a quantity
    return _DEC.fullmatch(v) is not None and not _leading_zero(v) and not long_digit_run


def _leading_zero(v: str) -> bool:
    digits = v.lstrip("+-")
    return len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()


def _parses_date(v: str) -> bool:
    try:
        y, m, d = (int(p) for p in re.split(r"[-/]", v))
        date(y, m, d)
    except ValueError:
        return False
    return True


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float | Decimal):
        return format(value, "f") if isinstance(value, Decimal) else repr(value)
    return str(value)


# --- CSV ---------------------------------------------------------------------------------


class CsvSource:
    format: ClassVar[str] = "csv"
    progress_unit: ClassVar[str] = "bytes"

    def __init__(self, path: Path, encoding: str | None = None, delimiter: str | None = None):
        if not path.is_file():
            raise InvalidSource(f"CSV file not found: {path}; check the path")
        self.path = path
        head = path.read_bytes()[:CHUNK] if path.stat().st_size <= CHUNK else _head(path)
        if not head.strip():
            raise InvalidSource(f"{path} is empty; a CSV source needs a header row and data")
        self.encoding = encoding or _detect_encoding(head)
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise InvalidSource(
                f"unknown encoding {self.encoding!r}; try utf-8 or gb18030"
            ) from None
        self.delimiter = delimiter or _sniff_delimiter(head, self.encoding)

    def options(self) -> dict[str, str]:
        return {"encoding": self.encoding, "delimiter": self.delimiter}

    def probe(self, rows: int) -> Probe:
        try:
            with self.path.open(encoding=self.encoding, newline="") as fh:
                reader = csv.reader(fh, delimiter=self.delimiter, strict=True)
                header = next(reader, None)
                if not header or all(h.strip() == "" for h in header):
                    raise InvalidSource(
                        f"{self.path} has no header row; add one naming each column"
                    )
                names = _check_header(header, self.path)
                sample: list[list[str]] = []
                for record in reader:
                    if not record:
                        continue
                    if len(record) != len(names):
                        raise InvalidSource(
                            f"{self.path} line {reader.line_num} has {len(record)} fields, the "
                            f"header has {len(names)}; fix the file or pass --delimiter"
                        )
                    sample.append(record)
                    if len(sample) >= rows:
                        break
        except UnicodeDecodeError:
            raise InvalidSource(
                f"{self.path} is not valid {self.encoding}; pass --encoding (e.g. gb18030)"
            ) from None
        except csv.Error as exc:
            raise InvalidSource(f"{self.path} is not well-formed CSV: {exc}") from None
        values = {n: [r[i] if r[i] != "" else None for r in sample] for i, n in enumerate(names)}
        columns = [Column(n, infer_text_type(values[n])) for n in names]
        return Probe(columns, values)

    def fingerprint(self, algorithm: str, progress: Progress | None = None) -> Fingerprint:
        size = self.path.stat().st_size
        h = hasher(algorithm)()
        done = 0
        with self.path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, size)
        return Fingerprint(h.digest().hex(), None, size)


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(CHUNK)


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        # Chinese government exports are often GBK; GB 18030 is its superset.
        return "gb18030"


def _sniff_delimiter(head: bytes, encoding: str) -> str:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def _check_header(header: list[str], where: object) -> list[str]:
    names = [h.strip().lstrip("\ufeff") for h in header]
    if any(n == "" for n in names):
        pos = [i + 1 for i, n in enumerate(names) if n == ""]
        raise InvalidSource(f"{where}: column(s) {pos} have no name; name every column")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidSource(f"{where}: duplicate column names {dupes}; make them unique")
    return names


# --- Parquet -----------------------------------------------------------------------------


def _arrow_type(t: Any) -> str:
    import pyarrow as pa

    checks = [
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_integer, "integer"),
        (lambda x: pa.types.is_floating(x) or pa.types.is_decimal(x), "decimal"),
        (pa.types.is_date, "date"),
        (pa.types.is_timestamp, "timestamp"),
        (lambda x: pa.types.is_string(x) or pa.types.is_large_string(x), "string"),
        (lambda x: pa.types.is_binary(x) or pa.types.is_large_binary(x), "binary"),
    ]
    if pa.types.is_dictionary(t):
        t = t.value_type
    return next((name for check, name in checks if check(t)), "other")


class ParquetSource:
    format: ClassVar[str] = "parquet"
    progress_unit: ClassVar[str] = "bytes"

    def __init__(self, path: Path):
        if not path.exists():
            raise InvalidSource(f"Parquet path not found: {path}; check the path")
        self.path = path
        self.files = (
            sorted(p for p in path.rglob("*.parquet") if p.is_file()) if path.is_dir() else [path]
        )
        if not self.files:
            raise InvalidSource(f"{path} holds no *.parquet files")

    def options(self) -> dict[str, str]:
        return {}

    def _dataset(self) -> Any:
        import pyarrow.dataset as ds
        from pyarrow import ArrowInvalid

        try:
            return ds.dataset([str(f) for f in self.files], format="parquet")
        except (ArrowInvalid, OSError) as exc:
            raise InvalidSource(f"{self.path} is not readable Parquet: {exc}") from None

    def probe(self, rows: int) -> Probe:
        from pyarrow import ArrowInvalid

        dataset = self._dataset()
        names = _check_header(list(dataset.schema.names), self.path)
        columns = [Column(n, _arrow_type(dataset.schema.field(n).type)) for n in names]
        try:
            table = dataset.head(rows)
        except (ArrowInvalid, OSError) as exc:
            raise InvalidSource(f"{self.path} is not readable Parquet: {exc}") from None
        values = {n: [_text(v) for v in table.column(n).to_pylist()] for n in names}
        return Probe(columns, values)

    def fingerprint(self, algorithm: str, progress: Progress | None = None) -> Fingerprint:
        import pyarrow.parquet as pq

        total = sum(f.stat().st_size for f in self.files)
        h = hasher(algorithm)()
        rows = 0
        done = 0
        base = self.path if self.path.is_dir() else self.path.parent
        for f in self.files:
            # The relative path and length frame each file so renames and splits change the hash.
            h.update(canonical_json([f.relative_to(base).as_posix(), f.stat().st_size]))
            with f.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    h.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            rows += pq.ParquetFile(f).metadata.num_rows
        return Fingerprint(h.digest().hex(), rows, total)


# --- SQL table ---------------------------------------------------------------------------


def _sql_type(t: Any) -> str:
    from sqlalchemy import types as st

    order = [
        (st.Boolean, "boolean"),
        (st.Integer, "integer"),
        (st.Numeric, "decimal"),
        (st.DateTime, "timestamp"),
        (st.Date, "date"),
        (st.String, "string"),
        (st.LargeBinary, "binary"),
    ]
    return next((name for cls, name in order if isinstance(t, cls)), "other")


class SqlSource:
    format: ClassVar[str] = "sql"
    progress_unit: ClassVar[str] = "rows"

    def __init__(self, url: str, table: str):
        from sqlalchemy import MetaData, Table, create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError

        try:
            self.url = make_url(url)
        except ArgumentError:
            raise InvalidSource(
                f"cannot parse {url!r} as a SQLAlchemy URL (dialect+driver://user:pass@host/db)"
            ) from None
        self.safe_url = self.url.render_as_string(hide_password=True)
        schema, _, name = table.rpartition(".")
        try:
            self.engine = create_engine(self.url)
            self.table = Table(name, MetaData(), schema=schema or None, autoload_with=self.engine)
        except NoSuchTableError:
            raise InvalidSource(f"table {table!r} not found at {self.safe_url}") from None
        except ImportError as exc:
            raise InvalidSource(f"no driver for {self.safe_url}: {exc}") from None
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise DatabaseUnavailable(
                f"cannot reach {self.safe_url}: {first}; check the URL and that the server is up"
            ) from None

    def options(self) -> dict[str, str]:
        return {}

    def probe(self, rows: int) -> Probe:
        from sqlalchemy import select

        names = _check_header([c.name for c in self.table.columns], self.table.name)
        columns = [Column(c.name, _sql_type(c.type)) for c in self.table.columns]
        with self.engine.connect() as conn:
            result = conn.execute(select(self.table).limit(rows)).fetchall()
        values = {n: [_text(r[i]) for r in result] for i, n in enumerate(names)}
        return Probe(columns, values)

    def fingerprint(self, algorithm: str, progress: Progress | None = None) -> Fingerprint:
        """Hash every row in a deterministic order (primary key, else all columns)."""
        from sqlalchemy import func, select

        order = list(self.table.primary_key.columns) or list(self.table.columns)
        h = hasher(algorithm)()
        rows = 0
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(self.table)).scalar_one()
            stream = conn.execution_options(stream_results=True, yield_per=5000).execute(
                select(self.table).order_by(*order)
            )
            for row in stream:
                h.update(canonical_json([_text(v) for v in row]) + b"\n")
                rows += 1
                if progress and rows % 5000 == 0:
                    progress(rows, total)
        if progress:
            progress(rows, total)
        return Fingerprint(h.digest().hex(), rows, None)


def open_source(
    location: str,
    table: str | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> CsvSource | ParquetSource | SqlSource:
    """The reader for ``location``: a SQLAlchemy URL with ``table``, or a file/folder path."""
    if table is not None or fmt == "sql":
        if not table:
            raise InvalidSource("a SQL source needs --table NAME (schema.table allowed)")
        return SqlSource(location, table)
    if "://" in location:
        raise InvalidSource(f"{location.split('://')[0]}:// looks like a SQL URL; add --table NAME")
    path = Path(location).expanduser()
    fmt = fmt or _guess_format(path)
    readers: dict[str, Callable[[], CsvSource | ParquetSource]] = {
        "csv": lambda: CsvSource(path, encoding, delimiter),
        "parquet": lambda: ParquetSource(path),
    }
    if fmt not in readers:
        raise InvalidSource(f"unsupported format {fmt!r}; use csv, parquet or sql (--table)")
    return readers[fmt]()


def _guess_format(path: Path) -> str:
    if not path.exists():
        raise InvalidSource(f"source not found: {path}; check the path")
    if path.is_dir():
        return "parquet"
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    with path.open("rb") as fh:
        if fh.read(4) == b"PAR1":
            return "parquet"
    raise InvalidSource(f"cannot tell the format of {path}; pass --format csv or --format parquet")


__all__ = [
    "Column",
    "CsvSource",
    "Fingerprint",
    "ParquetSource",
    "Probe",
    "SqlSource",
    "open_source",
]
