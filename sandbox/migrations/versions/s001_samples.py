"""Sandbox: masking policies and sample builds.

Revision ID: s001
Revises:
Depends on: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "s001"
down_revision = None
branch_labels = ("sandbox",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "masking_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules_json", sa.Text(), nullable=False),
        sa.Column("policy_hash", sa.String(80), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_masking_policies_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masking_policies")),
        sa.UniqueConstraint("dataset_id", "version", name=op.f("uq_masking_policies_dataset_id")),
    )
    op.create_index(
        op.f("ix_masking_policies_dataset_id"), "masking_policies", ["dataset_id"], unique=False
    )
    op.create_table(
        "sample_builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("dataset_version_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("strategy", sa.String(20), nullable=False),
        sa.Column("stratify_by", sa.String(300), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("rows_requested", sa.BigInteger(), nullable=True),
        sa.Column("rows_written", sa.BigInteger(), nullable=True),
        sa.Column("k_anonymity", sa.BigInteger(), nullable=True),
        sa.Column("min_k", sa.Integer(), nullable=True),
        sa.Column("suppressed_rows", sa.BigInteger(), nullable=False),
        sa.Column("gate_passed", sa.Boolean(), nullable=False),
        sa.Column("gate_result", sa.Text(), nullable=False),
        sa.Column("sample_version_id", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(80), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_sample_builds_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_sample_builds_dataset_version_id_dataset_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["masking_policies.id"],
            name=op.f("fk_sample_builds_policy_id_masking_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["sample_version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_sample_builds_sample_version_id_dataset_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_builds")),
    )
    op.create_index(
        op.f("ix_sample_builds_dataset_id"), "sample_builds", ["dataset_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("sample_builds")
    op.drop_table("masking_policies")
