"""Pipelines: submitted versions, review decisions, scanner waivers.

Revision ID: p001
Revises:
Depends on: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "p001"
down_revision = None
branch_labels = ("pipelines",)
depends_on = "0002"

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pipeline_versions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("submitted_at", TZ, nullable=False),
        sa.Column("previous_id", sa.String(64), nullable=True),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("scan", sa.Text(), nullable=True),
        sa.Column("dry_run", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_versions")),
    )
    op.create_index(op.f("ix_pipeline_versions_name"), "pipeline_versions", ["name"])
    op.create_table(
        "pipeline_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("version_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("org", sa.String(200), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["pipeline_versions.id"],
            name=op.f("fk_pipeline_decisions_version_id_pipeline_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_decisions")),
        sa.UniqueConstraint(
            "version_id", "role", "org", name=op.f("uq_pipeline_decisions_version_id")
        ),
    )
    op.create_index(op.f("ix_pipeline_decisions_version_id"), "pipeline_decisions", ["version_id"])
    op.create_table(
        "pipeline_waivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(20), nullable=False),
        sa.Column("file", sa.String(300), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["pipeline_versions.id"],
            name=op.f("fk_pipeline_waivers_version_id_pipeline_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_waivers")),
        sa.UniqueConstraint(
            "version_id", "rule", "file", "line", name=op.f("uq_pipeline_waivers_version_id")
        ),
    )
    op.create_index(op.f("ix_pipeline_waivers_version_id"), "pipeline_waivers", ["version_id"])


def downgrade() -> None:
    op.drop_table("pipeline_waivers")
    op.drop_table("pipeline_decisions")
    op.drop_table("pipeline_versions")
