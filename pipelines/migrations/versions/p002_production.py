"""Pipelines: deployments to Airflow and production runs.

Revision ID: p002
Revises: p001
Depends on: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "p002"
down_revision = "p001"
branch_labels = None
depends_on = "0003"

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pipeline_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("deployed_by", sa.String(100), nullable=False),
        sa.Column("deployed_at", TZ, nullable=False),
        sa.Column("retired_at", TZ, nullable=True),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["pipeline_versions.id"],
            name=op.f("fk_pipeline_deployments_version_id_pipeline_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_deployments")),
    )  # fmt: skip
    op.create_index(op.f("ix_pipeline_deployments_name"), "pipeline_deployments", ["name"])
    op.create_index(
        op.f("ix_pipeline_deployments_version_id"), "pipeline_deployments", ["version_id"]
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("airflow_run_id", sa.String(250), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("inputs", sa.Text(), nullable=True),
        sa.Column("outputs", sa.Text(), nullable=True),
        sa.Column("validation", sa.Text(), nullable=True),
        sa.Column("metering", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("quarantine", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["pipeline_deployments.id"],
            name=op.f("fk_pipeline_runs_deployment_id_pipeline_deployments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint("dag_id", "airflow_run_id", name=op.f("uq_pipeline_runs_dag_id")),
    )  # fmt: skip
    for col in ("deployment_id", "version_id", "name"):
        op.create_index(op.f(f"ix_pipeline_runs_{col}"), "pipeline_runs", [col])


def downgrade() -> None:
    op.drop_table("pipeline_runs")
    op.drop_table("pipeline_deployments")
