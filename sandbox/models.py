"""The sandbox package's entities: masking policies and sample builds (on the hub's metadata)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base, utcnow


class MaskingPolicy(Base):
    """One immutable version of a dataset's masking policy: a rule (and parameters) per column.

    Every edit writes a new version; a sample build records the version it used. A version
    that changes an L4 column is ``pending`` until an operator approves it (``active``) or
    rejects it; builds use the newest active version.
    """

    __tablename__ = "masking_policies"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules_json: Mapped[str] = mapped_column(Text)  # {"column": {"rule": name, "params": {}}}
    policy_hash: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    change_json: Mapped[str | None] = mapped_column(Text)  # {"column", "before", "after"}
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SampleBuild(Base):
    """One attempt to build a sample: what went in, what came out, and the leak gate's verdict."""

    __tablename__ = "sample_builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("masking_policies.id"))
    status: Mapped[str] = mapped_column(String(20))  # published | exported | rejected
    strategy: Mapped[str] = mapped_column(String(20))
    stratify_by: Mapped[str | None] = mapped_column(String(300))
    seed: Mapped[int] = mapped_column(BigInteger)
    rows_requested: Mapped[int | None] = mapped_column(BigInteger)
    rows_written: Mapped[int | None] = mapped_column(BigInteger)
    k_anonymity: Mapped[int | None] = mapped_column(BigInteger)
    min_k: Mapped[int | None] = mapped_column(Integer)
    suppressed_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    gate_passed: Mapped[bool] = mapped_column(Boolean)
    gate_result: Mapped[str] = mapped_column(Text)  # JSON: the GE validation result + leaks
    sample_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    content_hash: Mapped[str | None] = mapped_column(String(80))
    output: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
