"""Labeling: projects, specifications, per-annotator Label Studio projects, tasks,
assignments, metered work and exports.

Revision ID: l001
Revises:
Depends on: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "l001"
down_revision = None
branch_labels = ("labeling",)
depends_on = "0005"


def upgrade() -> None:
    op.create_table(
        "label_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("project", sa.String(length=100), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("dataset_version_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("contracts", sa.Text(), nullable=False),
        sa.Column("overlap", sa.Integer(), nullable=False),
        sa.Column("gold_share", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("review_ls_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_label_projects_dataset_version_id_dataset_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_label_projects_name")),
    )
    op.create_index(op.f("ix_label_projects_project"), "label_projects", ["project"], unique=False)
    op.create_table(
        "label_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("dataset_version_id", sa.Integer(), nullable=False),
        sa.Column("spec_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_label_exports_dataset_version_id_dataset_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_exports_project_id_label_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_exports")),
    )
    op.create_index(
        op.f("ix_label_exports_project_id"), "label_exports", ["project_id"], unique=False
    )
    op.create_table(
        "label_shards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("ls_project_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_shards_project_id_label_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_shards")),
        sa.UniqueConstraint("project_id", "person", name=op.f("uq_label_shards_project_id")),
    )
    op.create_index(
        op.f("ix_label_shards_project_id"), "label_shards", ["project_id"], unique=False
    )
    op.create_table(
        "label_specs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("guidelines", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=80), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_specs_project_id_label_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_specs")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_label_specs_project_id")),
    )
    op.create_index(op.f("ix_label_specs_project_id"), "label_specs", ["project_id"], unique=False)
    op.create_table(
        "label_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("gold", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("agreement", sa.Float(), nullable=True),
        sa.Column("final", sa.Text(), nullable=True),
        sa.Column("review_ls_task", sa.Integer(), nullable=True),
        sa.Column("prediction", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_tasks_project_id_label_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_tasks")),
        sa.UniqueConstraint("project_id", "key", name=op.f("uq_label_tasks_project_id")),
    )
    op.create_index(op.f("ix_label_tasks_project_id"), "label_tasks", ["project_id"], unique=False)
    op.create_table(
        "label_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_work_project_id_label_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_work")),
    )
    op.create_index(op.f("ix_label_work_project_id"), "label_work", ["project_id"], unique=False)
    op.create_table(
        "label_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("annotator", sa.String(length=100), nullable=False),
        sa.Column("ls_task_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("lead_time", sa.Float(), nullable=True),
        sa.Column("annotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"], ["label_tasks.id"], name=op.f("fk_label_assignments_task_id_label_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_assignments")),
        sa.UniqueConstraint("task_id", "annotator", name=op.f("uq_label_assignments_task_id")),
    )
    op.create_index(
        op.f("ix_label_assignments_annotator"), "label_assignments", ["annotator"], unique=False
    )
    op.create_index(
        op.f("ix_label_assignments_task_id"), "label_assignments", ["task_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_label_assignments_task_id"), table_name="label_assignments")
    op.drop_index(op.f("ix_label_assignments_annotator"), table_name="label_assignments")
    op.drop_table("label_assignments")
    op.drop_index(op.f("ix_label_work_project_id"), table_name="label_work")
    op.drop_table("label_work")
    op.drop_index(op.f("ix_label_tasks_project_id"), table_name="label_tasks")
    op.drop_table("label_tasks")
    op.drop_index(op.f("ix_label_specs_project_id"), table_name="label_specs")
    op.drop_table("label_specs")
    op.drop_index(op.f("ix_label_shards_project_id"), table_name="label_shards")
    op.drop_table("label_shards")
    op.drop_index(op.f("ix_label_exports_project_id"), table_name="label_exports")
    op.drop_table("label_exports")
    op.drop_index(op.f("ix_label_projects_project"), table_name="label_projects")
    op.drop_table("label_projects")
