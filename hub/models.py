"""Metadata DB entities (SQLAlchemy 2 typed models). One definition per entity.

Schema changes go through Alembic migrations in ``hub/migrations``; nothing calls
``create_all`` on a real database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class PlatformState(Base):
    """Facts fixed when the platform is first initialized (e.g. the ledger hash algorithm)."""

    __tablename__ = "platform_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Organisation(Base):
    """A data provider, the operator, or a consumer organisation."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Dataset(Base):
    """A registered source (kind ``source``), a sample or a product, owned by an organisation."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="source")
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    source_format: Mapped[str] = mapped_column(String(20))  # csv | parquet | sql
    source_uri: Mapped[str] = mapped_column(Text)  # path, or SQLAlchemy URL (no password)
    source_table: Mapped[str | None] = mapped_column(String(300))
    source_options: Mapped[str] = mapped_column(Text, default="{}")  # JSON: encoding, delimiter
    # For a sample (kind ``sample``): the dataset it is a masked sample of.
    sample_of_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    classification_status: Mapped[str] = mapped_column(String(20), default="proposed")
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    owner: Mapped[Organisation] = relationship()
    sample_of: Mapped[Dataset | None] = relationship(remote_side="Dataset.id")
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number"
    )
    columns: Mapped[list[ColumnClass]] = relationship(
        back_populates="dataset", order_by="ColumnClass.position"
    )

    @property
    def latest(self) -> DatasetVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def confirmed(self) -> bool:
        return self.classification_status == "confirmed"


class DatasetVersion(Base):
    """An immutable version of a dataset, named by the hash of its content."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(80))
    hash_algorithm: Mapped[str] = mapped_column(String(20))
    schema_json: Mapped[str] = mapped_column(Text)  # [{"name":..,"type":..}, ...]
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # Where this version's data lives when it is not the registered source itself
    # (samples and products: one immutable folder per version).
    location: Mapped[str | None] = mapped_column(Text)
    # What produced this version, when something did (a product: the pipeline run, its
    # code version and the exact input versions), as JSON.
    lineage: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class ColumnClass(Base):
    """Classification of one column: the proposal, and what the owner set and confirmed."""

    __tablename__ = "column_classes"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    data_type: Mapped[str] = mapped_column(String(20))
    pii_type: Mapped[str] = mapped_column(String(30))
    level: Mapped[int] = mapped_column(Integer)
    quasi_identifier: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_pii_type: Mapped[str] = mapped_column(String(30))
    proposed_level: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text)
    edited_by: Mapped[str | None] = mapped_column(String(200))

    dataset: Mapped[Dataset] = relationship(back_populates="columns")


class LedgerEntry(Base):
    """One evidence entry. ``hash = H(prev_hash || canonical JSON of the other fields)``.

    Append-only: database triggers refuse UPDATE and DELETE (see the initial migration).
    ``time`` is stored as the exact ISO-8601 text that was hashed, so verification never
    depends on a database's timestamp rounding.
    """

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(500), index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(80))
    hash: Mapped[str] = mapped_column(String(80))


class Checkpoint(Base):
    """A signed RFC 6962 Merkle root over ledger entries 1..tree_size (append-only too)."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[str] = mapped_column(String(80))
    algorithm: Mapped[str] = mapped_column(String(20))
    time: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(80))
    signature: Mapped[str] = mapped_column(Text)  # base64 Ed25519 over the canonical body
    # Roots of the perfect subtrees covering 1..tree_size (JSON [[size, hex], ...]), so the
    # next checkpoint hashes only newer entries. Not trusted by verification, which
    # recomputes everything from the entries.
    frontier: Mapped[str] = mapped_column(Text, default="[]")


# --- identity, projects, sandboxes ---------------------------------------------------------


class User(Base):
    """A platform user. JupyterHub authenticates against this table and mirrors the roles
    into hub groups; the CLI reads the same roles, so both agree without the hub running."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)  # None: cannot log in (e.g. OIDC)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserRole.id"
    )


class UserRole(Base):
    """One role of a user; ``provider`` roles are per organisation (the data owner)."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", "org_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))

    user: Mapped[User] = relationship(back_populates="roles")
    org: Mapped[Organisation | None] = relationship()


class Project(Base):
    """A workspace: its members. What it may use is in its contracts (party = project)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )


class ProjectMember(Base):
    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    project: Mapped[Project] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Contract(Base):
    """A digital contract (数字合约): who may use which data, how, for what, until when.

    The terms live in its versions (``ContractVersion``); ``version`` is the one in force
    (None until a first version is approved). ``state``: draft | active | suspended |
    expired | revoked | rejected (see ``hub.contracts``).
    """

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(100), unique=True)
    party_kind: Mapped[str] = mapped_column(String(20))  # project | application
    party: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int | None] = mapped_column(Integer)  # the approved version in force
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    origin: Mapped[str] = mapped_column(String(20), default="import")  # import|request|grant
    state_reason: Mapped[str | None] = mapped_column(Text)
    state_by: Mapped[str | None] = mapped_column(String(100))
    state_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[ContractVersion]] = relationship(
        back_populates="contract", order_by="ContractVersion.number"
    )


class ContractVersion(Base):
    """One immutable version of a contract's document, named by its hash."""

    __tablename__ = "contract_versions"
    __table_args__ = (UniqueConstraint("contract_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)  # canonical JSON (hub.contract_doc)
    hash: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # pending | approved | rejected | superseded
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    contract: Mapped[Contract] = relationship(back_populates="versions")
    approvals: Mapped[list[ContractApproval]] = relationship(
        back_populates="version", order_by="ContractApproval.id"
    )


class ContractApproval(Base):
    """A provider reviewer's or an operator's decision on one exact contract version."""

    __tablename__ = "contract_approvals"
    __table_args__ = (UniqueConstraint("version_id", "role", "org"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id"), index=True)
    version_hash: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))  # provider | operator
    org: Mapped[str] = mapped_column(String(200), default="")
    reviewer: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(10))  # approve | reject
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[ContractVersion] = relationship(back_populates="approvals")


class ContractUsage(Base):
    """One use counted against a contract's daily limits (a run, rows read, calls)."""

    __tablename__ = "contract_usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # in the platform's time zone
    mode: Mapped[str] = mapped_column(String(20))
    runs: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    ref: Mapped[str] = mapped_column(String(300))  # what used it (a run, a session)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SandboxSession(Base):
    """One spawned notebook server: who, which project and profile, what it could see."""

    __tablename__ = "sandbox_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(String(100), index=True)
    server_name: Mapped[str] = mapped_column(String(100), default="")
    project: Mapped[str] = mapped_column(String(100))
    profile: Mapped[str] = mapped_column(String(20))
    image: Mapped[str] = mapped_column(String(300))
    image_id: Mapped[str] = mapped_column(String(100))
    container_id: Mapped[str | None] = mapped_column(String(100))
    mounts: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{dataset, version, hash}]
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CellRecord(Base):
    """Which audited cell went to which ledger entry: a resent spool record is recorded once."""

    __tablename__ = "cell_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), unique=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sandbox_sessions.id"))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)


class RiskAlert(Base):
    """A risk rule's finding (``hub.risk``): about whom, how bad, why, and its ledger entry."""

    __tablename__ = "risk_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(100), index=True)
    severity: Mapped[str] = mapped_column(String(10))  # low | medium | high
    subject_kind: Mapped[str] = mapped_column(String(20))  # user | project | contract
    subject: Mapped[str] = mapped_column(String(200), index=True)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)  # JSON
    trigger_seq: Mapped[int | None] = mapped_column(BigInteger)  # the entry that set it off
    ledger_seq: Mapped[int | None] = mapped_column(BigInteger)  # its own risk.alert entry
    freeze_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Freeze(Base):
    """A freeze of a user, project or contract (``hub.freeze``), and its lifting."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(200), index=True)
    reason: Mapped[str] = mapped_column(Text)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    changed: Mapped[str] = mapped_column(Text, default="[]")  # JSON: what it suspended
    frozen_by: Mapped[str] = mapped_column(String(100))
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lift_reason: Mapped[str | None] = mapped_column(Text)
