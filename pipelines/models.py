"""The pipelines package's entities: submitted versions, review decisions, waivers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.models import Base, utcnow

STATES = (
    "submitted", "blocked", "scanned", "dry_run_failed", "in_review", "approved", "rejected",
    "deployed", "retired",
)  # fmt: skip


class PipelineVersion(Base):
    """A snapshot of a pipeline folder, named by its content hash, and where it stands."""

    __tablename__ = "pipeline_versions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the snapshot
    name: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(20), default="submitted")
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    previous_id: Mapped[str | None] = mapped_column(String(64))
    snapshot: Mapped[str] = mapped_column(Text)  # folder holding the files
    manifest: Mapped[str] = mapped_column(Text)  # JSON
    scan: Mapped[str | None] = mapped_column(Text)  # JSON report
    dry_run: Mapped[str | None] = mapped_column(Text)  # JSON: inputs, outputs, lineage, gx

    decisions: Mapped[list[Decision]] = relationship(
        back_populates="version", order_by="Decision.id"
    )
    waivers: Mapped[list[Waiver]] = relationship(back_populates="version", order_by="Waiver.id")


class Decision(Base):
    """A reviewer's approval or rejection, bound to the exact version hash."""

    __tablename__ = "pipeline_decisions"
    __table_args__ = (UniqueConstraint("version_id", "role", "org"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("pipeline_versions.id"), index=True)
    version_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))  # provider | operator
    org: Mapped[str] = mapped_column(String(200), default="")  # the owner, for providers
    reviewer: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(10))  # approve | reject
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[PipelineVersion] = relationship(back_populates="decisions")


class Waiver(Base):
    """An operator's waiver of one scanner finding on one version, with a reason."""

    __tablename__ = "pipeline_waivers"
    __table_args__ = (UniqueConstraint("version_id", "rule", "file", "line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("pipeline_versions.id"), index=True)
    rule: Mapped[str] = mapped_column(String(20))
    file: Mapped[str] = mapped_column(String(300))
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    operator: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[PipelineVersion] = relationship(back_populates="waivers")
