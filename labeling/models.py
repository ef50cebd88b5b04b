"""Labeling's entities: projects bound to a dataset version, their versioned labeling
specifications, the per-annotator Label Studio projects, tasks with their assignments and
answers, and exports registered as datasets.

Label Studio's open edition has no task assignment: every user sees every project. So a
trustlab project is one Label Studio project per annotator (holding exactly the tasks
assigned to that person, gold tasks among them unmarked) plus one review project; the
mapping lives here, and agreement, gold accuracy and review state are computed here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base, utcnow


class LabelProject(Base):
    __tablename__ = "label_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    project: Mapped[str] = mapped_column(String(100), index=True)  # the trustlab project
    dataset: Mapped[str] = mapped_column(String(200))  # as named in the contract
    source: Mapped[str] = mapped_column(String(200))  # the catalog dataset tasks come from
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    template: Mapped[str] = mapped_column(String(40))
    contracts: Mapped[str] = mapped_column(Text)  # JSON list of contract refs at creation
    overlap: Mapped[int] = mapped_column(Integer)
    gold_share: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)  # agreement below this goes to review
    review_ls_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | closed
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelSpec(Base):
    """A labeling specification version: the label config and the written guidelines."""

    __tablename__ = "label_specs"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    labels: Mapped[str] = mapped_column(Text)  # JSON list
    fields: Mapped[str] = mapped_column(Text)  # JSON {"text": "remark", ...}
    config: Mapped[str] = mapped_column(Text)  # Label Studio's XML
    guidelines: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelShard(Base):
    """The Label Studio project of one annotator (``role`` annotator) or of the review."""

    __tablename__ = "label_shards"
    __table_args__ = (UniqueConstraint("project_id", "person"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id"), index=True)
    person: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))  # annotator | reviewer
    ls_project_id: Mapped[int] = mapped_column(Integer)


class LabelTask(Base):
    __tablename__ = "label_tasks"
    __table_args__ = (UniqueConstraint("project_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))  # the row or file it comes from
    data: Mapped[str] = mapped_column(Text)  # JSON: what Label Studio shows
    gold: Mapped[str | None] = mapped_column(Text)  # JSON result of a gold task
    # open → agreed | review → reviewed; final is the task's label (JSON result).
    state: Mapped[str] = mapped_column(String(20), default="open")
    agreement: Mapped[float | None] = mapped_column(Float)
    final: Mapped[str | None] = mapped_column(Text)
    review_ls_task: Mapped[int | None] = mapped_column(Integer)
    prediction: Mapped[str | None] = mapped_column(Text)  # JSON result suggested


class LabelAssignment(Base):
    __tablename__ = "label_assignments"
    __table_args__ = (UniqueConstraint("task_id", "annotator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("label_tasks.id"), index=True)
    annotator: Mapped[str] = mapped_column(String(100), index=True)
    ls_task_id: Mapped[int] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text)  # JSON, once pulled
    lead_time: Mapped[float | None] = mapped_column(Float)
    annotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LabelWork(Base):
    """Metered labeling work: tasks labeled or reviewed and time spent, per pull."""

    __tablename__ = "label_work"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id"), index=True)
    person: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # labeled | reviewed
    tasks: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelExport(Base):
    __tablename__ = "label_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id"), index=True)
    format: Mapped[str] = mapped_column(String(20))
    dataset: Mapped[str] = mapped_column(String(200))
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    spec_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
