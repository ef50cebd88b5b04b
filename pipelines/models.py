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
    project: Mapped[str | None] = mapped_column(String(100), index=True)  # whose work it is
    state: Mapped[str] = mapped_column(String(20), default="submitted")
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    previous_id: Mapped[str | None] = mapped_column(String(64))
    snapshot: Mapped[str] = mapped_column(Text)  # folder holding the files
    manifest: Mapped[str] = mapped_column(Text)  # JSON
    scan: Mapped[str | None] = mapped_column(Text)  # JSON report
    skipped: Mapped[str | None] = mapped_column(Text)  # JSON: path -> why it was left out
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


class Deployment(Base):
    """An approved version made live in Airflow as DAG ``dag_id``; at most one active per name."""

    __tablename__ = "pipeline_deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("pipeline_versions.id"), index=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | retired
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    spec: Mapped[str] = mapped_column(Text)  # JSON: what the DAG factory builds
    paused_reason: Mapped[str | None] = mapped_column(Text)  # paused by the contract monitor

    version: Mapped[PipelineVersion] = relationship()


class Run(Base):
    """One production run (an Airflow DAG run): inputs read, outputs, validation, metering."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (UniqueConstraint("dag_id", "airflow_run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("pipeline_deployments.id"), index=True)
    version_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    airflow_run_id: Mapped[str] = mapped_column(String(250))
    # running | validated | published | failed | quarantined | refused
    state: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inputs: Mapped[str | None] = mapped_column(Text)  # JSON: name -> version, hash
    outputs: Mapped[str | None] = mapped_column(Text)  # JSON: name -> rows, product version
    validation: Mapped[str | None] = mapped_column(Text)  # JSON: the expectation results
    metering: Mapped[str | None] = mapped_column(Text)  # JSON: rows, cpu seconds, duration
    params: Mapped[str | None] = mapped_column(Text)  # JSON: the params the run used
    error: Mapped[str | None] = mapped_column(Text)
    quarantine: Mapped[str | None] = mapped_column(Text)  # where an unpublished output went

    deployment: Mapped[Deployment] = relationship()
