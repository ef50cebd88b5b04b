"""The serving zone: product versions loaded into the serving database for the gateway.

``serve_product`` copies one product version (Parquet in the products zone) into a new
physical table ``<name>__v<N>``, builds the indexes the APIs over it need, and swaps the
view ``<name>`` — the one name APIs read — to it in one transaction, so a call sees the
old version or the new one, never a mix. The previous table is kept (an instant way
back: serve that version again); older ones are dropped. The catalog records which
product version each serving table holds (``ServingTable``); every swap is ledgered.

A serve that stops half-way leaves no visible trace: the new table is invisible until
the view points at it, and a leftover table without a catalog row is dropped next time.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from apis.models import ServingTable
from hub.db import create_db_engine
from hub.errors import InvalidState, NotFound, TrustlabError
from hub.identity import Directory, PermissionDenied
from hub.models import Dataset, DatasetVersion
from hub.platform import Platform

BATCH = 50_000
KEEP_OLD = 1  # previous tables kept besides the current one
Progress = Callable[[int, int], None]  # rows done, rows total


def sql_name(name: str) -> str:
    """The view name for a product name (lowercase, ``-`` → ``_``), at most 48 characters."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:48]


def _sql_type(t: pa.DataType, dialect: str) -> sa.types.TypeEngine:
    if pa.types.is_boolean(t):
        return sa.Boolean()
    if pa.types.is_integer(t):
        return sa.BigInteger()
    if pa.types.is_floating(t):
        return sa.Double()  # MariaDB's FLOAT is single precision
    if pa.types.is_decimal(t):
        return sa.Numeric(t.precision, t.scale)
    if pa.types.is_date(t):
        return sa.Date()
    if pa.types.is_timestamp(t):
        return sa.DateTime(timezone=t.tz is not None)
    # Strings: MariaDB indexes need a bounded VARCHAR; 512 characters of utf8mb4 fit.
    return sa.String(512) if dialect == "mysql" else sa.Text()


@dataclass(frozen=True)
class Loaded:
    physical: str
    rows: int
    schema: list[dict[str, str]]


class Serving:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def engine(self) -> Engine:
        return create_db_engine(self.platform.settings.serving)

    def readonly_url(self, provision: bool = False) -> str | None:
        """The gateway's SELECT-only login: the setting, or one this platform provisioned
        (on the first serve) and keeps in ``HOME/keys/serving-readonly.url`` (mode 0600).
        None on SQLite, whose file the gateway opens read-only."""
        s = self.platform.settings
        if s.serving_readonly_url:
            return s.serving_readonly_url
        url = make_url(s.serving)
        if url.get_backend_name() == "sqlite":
            return None
        path = s.home / "keys" / "serving-readonly.url"
        if path.exists():
            return path.read_text().strip()
        if not provision:
            return None
        from apis.readonly import provision_readonly

        role = re.sub(r"[^a-z0-9_]", "_", f"{url.database or 'serving'}_gateway_ro".lower())[:60]
        ro = provision_readonly(s.serving, url.database or "", role=role,
                                password=secrets.token_urlsafe(24))  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(ro + "\n")
        return ro

    # --- serving ------------------------------------------------------------------------

    def serve_product(
        self,
        name: str,
        actor: str,
        *,
        version: int | None = None,
        indexes: Iterable[Iterable[str]] = (),
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Load ``name`` (its latest version, or ``version``) and make it the current one."""
        self._require_operator(actor)
        with self.platform.db.session() as session:
            dv = self._product_version(session, name, version)
            current = self._current(session, name)
            if current is not None and current.dataset_version_id == dv.id:
                return self._describe(current, dv) | {"changed": False}
            columns = [c["name"] for c in json.loads(dv.schema_json)]
            wanted = [list(ix) for ix in indexes] + self.needed_indexes(session, name)
            for ix in wanted:
                missing = [c for c in ix if c not in columns]
                if missing:
                    raise TrustlabError(
                        f"cannot index {', '.join(missing)}: product {name} "
                        f"v{dv.number} has no such column"
                    )
            self._check_apis_still_served(session, name, columns)
            location, number = dv.location, dv.number
        if not location:
            raise NotFound(f"product {name!r} v{number} has no data location")
        engine = self.engine()
        try:
            loaded = self._load(engine, name, number, location, progress)
            unique = _unique(wanted)
            self._index(engine, loaded.physical, unique)
            described = self._swap(engine, name, dv.id, loaded, unique, actor)
            self.readonly_url(provision=True)
            return described
        finally:
            engine.dispose()

    def needed_indexes(self, session: Session, name: str) -> list[list[str]]:
        """The indexes the published and approved API versions over ``name`` filter by."""
        from apis.builder import serving_indexes

        return serving_indexes(session, name)

    def _require_operator(self, actor: str) -> None:
        roles = Directory(self.platform).roles(actor)
        if not any(r.role in ("operator", "admin") for r in roles):
            raise PermissionDenied(f"{actor!r} may not serve products: an operator does")

    def _product_version(self, session: Session, name: str, number: int | None) -> DatasetVersion:
        ds = session.scalar(select(Dataset).where(Dataset.name == name))
        if ds is None or ds.kind != "product":
            raise NotFound(f"no product {name!r}; see `trustlab dataset list` (kind product)")
        if not ds.versions:
            raise NotFound(f"product {name!r} has no version yet: its pipeline has not run")
        if number is None:
            return ds.versions[-1]
        for v in ds.versions:
            if v.number == number:
                return v
        raise NotFound(f"product {name!r} has no version {number}")

    def _current(self, session: Session, name: str) -> ServingTable | None:
        return session.scalar(
            select(ServingTable).where(ServingTable.name == name, ServingTable.state == "current")
        )

    def _check_apis_still_served(self, session: Session, name: str, columns: list[str]) -> None:
        from apis.builder import serving_columns_used

        for api, used in serving_columns_used(session, name).items():
            lost = sorted(set(used) - set(columns))
            if lost:
                raise InvalidState(
                    f"the new version of {name} lacks {', '.join(lost)}, which API {api} "
                    "reads; take that API offline or publish a version without them first"
                )

    # --- the serving database -------------------------------------------------------------

    def _load(
        self, engine: Engine, name: str, number: int, location: str, progress: Progress | None
    ) -> Loaded:
        data = pads.dataset(location, format="parquet")
        total = data.count_rows()
        dialect = engine.dialect.name
        physical = f"{sql_name(name)}__v{number}"
        table = sa.Table(
            physical,
            sa.MetaData(),
            *(sa.Column(f.name, _sql_type(f.type, dialect)) for f in data.schema),
        )
        with engine.begin() as conn:  # a leftover of an interrupted serve goes first
            table.drop(conn, checkfirst=True)
            table.create(conn)
        done = 0
        with engine.begin() as conn:
            for batch in data.to_batches(batch_size=BATCH):
                rows = list(zip(*(col.to_pylist() for col in batch.columns), strict=True))
                if rows:
                    _insert(conn, table, rows)
                done += batch.num_rows
                if progress:
                    progress(done, total)
        schema = [{"name": f.name, "type": str(f.type)} for f in data.schema]
        return Loaded(physical, done, schema)

    def _index(self, engine: Engine, physical: str, indexes: list[list[str]],
               first: int = 0) -> None:  # fmt: skip
        table = sa.Table(physical, sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            for i, cols in enumerate(indexes, start=first):
                sa.Index(f"ix_{physical}_{i}", *(table.c[c] for c in cols)).create(conn)

    def ensure_indexes(self, name: str) -> list[list[str]]:
        """Build the indexes the live APIs over ``name`` need and its current table lacks
        (an API published after its product was served); returns the ones built."""
        with self.platform.db.session() as session:
            t = self._current(session, name)
            if t is None:
                return []
            have = json.loads(t.indexes)
            missing = [ix for ix in self.needed_indexes(session, name) if ix not in have]
            physical = t.physical
        if not missing:
            return []
        engine = self.engine()
        try:
            self._index(engine, physical, missing, first=len(have))
        finally:
            engine.dispose()
        with self.platform.db.session() as session:
            t = self._current(session, name)
            if t is not None and t.physical == physical:
                t.indexes = json.dumps(have + missing)
        return missing

    def _swap(
        self,
        engine: Engine,
        name: str,
        dv_id: int,
        loaded: Loaded,
        indexes: list[list[str]],
        actor: str,
    ) -> dict[str, Any]:
        view = sql_name(name)
        with self.platform.db.session() as session:
            for other in session.scalars(select(ServingTable.name).distinct()):
                if other != name and sql_name(other) == view:
                    raise InvalidState(f"{name} and {other} would share the serving view {view}")
            old = list(
                session.scalars(
                    select(ServingTable)
                    .where(ServingTable.name == name, ServingTable.state.in_(("current", "old")))
                    .order_by(ServingTable.id.desc())
                )
            )
            row = ServingTable(
                name=name,
                dataset_version_id=dv_id,
                physical=loaded.physical,
                schema_json=json.dumps(loaded.schema),
                indexes=json.dumps(indexes),
                rows=loaded.rows,
                state="current",
                served_by=actor,
            )
            existing = session.scalar(
                select(ServingTable).where(ServingTable.physical == loaded.physical)
            )
            if existing is not None:  # serving an older version again: its table is new now
                session.delete(existing)
                session.flush()
            session.add(row)
            drop = []
            for i, t in enumerate(t for t in old if t.physical != loaded.physical):
                t.state = "old" if i < KEEP_OLD else "dropped"
                if t.state == "dropped":
                    drop.append(t.physical)
            session.flush()
            dv = session.get(DatasetVersion, dv_id)
            assert dv is not None
            entry = self.platform.ledger.append(
                session,
                actor,
                "api.serve",
                f"serving:{name}",
                {
                    "product": name,
                    "version": dv.number,
                    "content_hash": dv.content_hash,
                    "table": loaded.physical,
                    "rows": loaded.rows,
                    "indexes": indexes,
                    "replaced": [t.physical for t in old if t.state != "current"],
                },
            )
            _point_view(engine, view, loaded.physical)  # the swap; then the catalog commits
            described = self._describe(row, dv) | {"changed": True, "ledger_seq": entry.seq}
        _drop_tables(engine, drop)
        return described

    # --- reading ----------------------------------------------------------------------------

    def tables(self) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            rows = session.execute(
                select(ServingTable, DatasetVersion)
                .join(DatasetVersion, DatasetVersion.id == ServingTable.dataset_version_id)
                .where(ServingTable.state != "dropped")
                .order_by(ServingTable.name, ServingTable.id)
            ).all()
            return [self._describe(t, dv) for t, dv in rows]

    def current(self, name: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            t = self._current(session, name)
            if t is None:
                raise NotFound(f"{name!r} is not served; `trustlab api serve-product {name}`")
            dv = session.get(DatasetVersion, t.dataset_version_id)
            assert dv is not None
            return self._describe(t, dv)

    def _describe(self, t: ServingTable, dv: DatasetVersion) -> dict[str, Any]:
        return {
            "name": t.name,
            "view": sql_name(t.name),
            "table": t.physical,
            "product_version": dv.number,
            "content_hash": dv.content_hash,
            "rows": t.rows,
            "state": t.state,
            "indexes": json.loads(t.indexes),
            "schema": json.loads(t.schema_json),
            "served_by": t.served_by,
            "served_at": t.served_at.isoformat(),
        }


def _unique(indexes: list[list[str]]) -> list[list[str]]:
    seen: list[list[str]] = []
    for ix in indexes:
        if ix and ix not in seen:
            seen.append(ix)
    return seen


def _insert(conn: sa.Connection, table: sa.Table, rows: list[tuple]) -> None:
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        names = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.c)
        quoted = conn.dialect.identifier_preparer.quote(table.name)
        with raw.cursor() as cur, cur.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    keys = [c.name for c in table.c]
    conn.execute(table.insert(), [dict(zip(keys, r, strict=True)) for r in rows])


def _point_view(engine: Engine, view: str, physical: str) -> None:
    q = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        if engine.dialect.name == "mysql":
            conn.exec_driver_sql(f"CREATE OR REPLACE VIEW {q(view)} AS SELECT * FROM {q(physical)}")
            return
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {q(view)}")
        conn.exec_driver_sql(f"CREATE VIEW {q(view)} AS SELECT * FROM {q(physical)}")


def _drop_tables(engine: Engine, physical: list[str]) -> None:
    q = engine.dialect.identifier_preparer.quote
    for name in physical:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")
