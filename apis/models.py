"""The API builder's entities: serving tables, API definitions and versions, their review,
consumer applications and their keys, the metering log and its digests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models import Base, utcnow

API_STATES = ("draft", "submitted", "approved", "rejected", "published", "offline", "retired")


class ServingTable(Base):
    """One product version loaded into the serving database.

    ``physical`` is the table holding its rows; the view named ``name`` points at the
    current one (swapped in one transaction). An old table is dropped once no API version
    pins it (``ApiVersion.serving_table_id``) and it is not current.
    """

    __tablename__ = "serving_tables"
    __table_args__ = (UniqueConstraint("name", "dataset_version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)  # the view the APIs read
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    physical: Mapped[str] = mapped_column(String(120), unique=True)
    schema_json: Mapped[str] = mapped_column(Text)  # [{"name", "type"}]
    indexes: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [[column, ...], ...]
    rows: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20), default="current")  # current|old|dropped
    served_by: Mapped[str] = mapped_column(String(100))
    served_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Api(Base):
    """A named API; its definitions are its versions."""

    __tablename__ = "apis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    project: Mapped[str] = mapped_column(String(100), index=True)  # whose work it is
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[ApiVersion]] = relationship(
        back_populates="api", order_by="ApiVersion.number"
    )


class ApiVersion(Base):
    """One immutable definition of an API, named by its hash, and where it stands."""

    __tablename__ = "api_versions"
    __table_args__ = (UniqueConstraint("api_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_id: Mapped[int] = mapped_column(ForeignKey("apis.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # wizard | script | registered | orchestrated
    definition: Mapped[str] = mapped_column(Text)  # canonical JSON (apis.spec)
    hash: Mapped[str] = mapped_column(String(80))  # of the definition and what it reads
    state: Mapped[str] = mapped_column(String(20), default="draft")
    # Owners whose provider reviewer must approve (an exposed field is PII-classified).
    providers: Mapped[str] = mapped_column(Text, default="[]")
    serving_table_id: Mapped[int | None] = mapped_column(ForeignKey("serving_tables.id"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    api: Mapped[Api] = relationship(back_populates="versions")
    decisions: Mapped[list[ApiDecision]] = relationship(
        back_populates="version", order_by="ApiDecision.id"
    )


class ApiDecision(Base):
    """A reviewer's approval or rejection of one API version, bound to its hash."""

    __tablename__ = "api_decisions"
    __table_args__ = (UniqueConstraint("version_id", "role", "org"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("api_versions.id"), index=True)
    version_hash: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))  # provider | operator
    org: Mapped[str] = mapped_column(String(200), default="")
    reviewer: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(10))  # approve | reject
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[ApiVersion] = relationship(back_populates="decisions")


class Application(Base):
    """A consumer application: the user side of an ``application`` contract."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    org: Mapped[str] = mapped_column(String(200))  # the consumer organisation
    contact: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | disabled
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    keys: Mapped[list[ApiKey]] = relationship(back_populates="application", order_by="ApiKey.id")


class ApiKey(Base):
    """An application's key: only its id and a keyed hash of the secret are stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)  # the public part
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(128))  # HMAC-SHA256 with the key pepper
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set on rotation: the old key keeps working until then.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    application: Mapped[Application] = relationship(back_populates="keys")


class ApiCall(Base):
    """The metering log: one row per gateway call, written in batches."""

    __tablename__ = "api_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    application: Mapped[str] = mapped_column(String(100), index=True)
    api: Mapped[str] = mapped_column(String(100))
    version: Mapped[int | None] = mapped_column(Integer)
    contract: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float)
    charged: Mapped[bool] = mapped_column(Boolean, default=False)  # counted against quotas
    # What the call asked for, for the consumption rules (keys looked up, page offset).
    detail: Mapped[str | None] = mapped_column(Text)


class MeterDigest(Base):
    """A signed digest of a range of the metering log, also ledgered."""

    __tablename__ = "meter_digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_id: Mapped[int] = mapped_column(Integer, unique=True)
    last_id: Mapped[int] = mapped_column(Integer, unique=True)
    count: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(80))
    ledger_seq: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
