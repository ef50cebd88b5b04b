"""API builder: serving tables, API versions and their review, applications, keys, metering.

Revision ID: a001
Revises:
Depends on: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "a001"
down_revision = None
branch_labels = ("apis",)
depends_on = "0005"


def upgrade() -> None:
    op.create_table(
        "api_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("application", sa.String(length=100), nullable=False),
        sa.Column("api", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("contract", sa.String(length=100), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("charged", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_calls")),
    )
    op.create_index(op.f("ix_api_calls_application"), "api_calls", ["application"], unique=False)
    op.create_index(op.f("ix_api_calls_at"), "api_calls", ["at"], unique=False)
    op.create_table(
        "apis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("project", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apis")),
        sa.UniqueConstraint("name", name=op.f("uq_apis_name")),
    )
    op.create_index(op.f("ix_apis_project"), "apis", ["project"], unique=False)
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("name", name=op.f("uq_applications_name")),
    )
    op.create_table(
        "meter_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_digests")),
        sa.UniqueConstraint("first_id", name=op.f("uq_meter_digests_first_id")),
        sa.UniqueConstraint("last_id", name=op.f("uq_meter_digests_last_id")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_api_keys_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_keys_key_id")),
    )
    op.create_index(
        op.f("ix_api_keys_application_id"), "api_keys", ["application_id"], unique=False
    )
    op.create_table(
        "serving_tables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("dataset_version_id", sa.Integer(), nullable=False),
        sa.Column("physical", sa.String(length=120), nullable=False),
        sa.Column("schema_json", sa.Text(), nullable=False),
        sa.Column("indexes", sa.Text(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("served_by", sa.String(length=100), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_serving_tables_dataset_version_id_dataset_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serving_tables")),
        sa.UniqueConstraint("name", "dataset_version_id", name=op.f("uq_serving_tables_name")),
        sa.UniqueConstraint("physical", name=op.f("uq_serving_tables_physical")),
    )
    op.create_index(op.f("ix_serving_tables_name"), "serving_tables", ["name"], unique=False)
    op.create_table(
        "api_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("providers", sa.Text(), nullable=False),
        sa.Column("serving_table_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["api_id"], ["apis.id"], name=op.f("fk_api_versions_api_id_apis")),
        sa.ForeignKeyConstraint(
            ["serving_table_id"],
            ["serving_tables.id"],
            name=op.f("fk_api_versions_serving_table_id_serving_tables"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_versions")),
        sa.UniqueConstraint("api_id", "number", name=op.f("uq_api_versions_api_id")),
    )
    op.create_index(op.f("ix_api_versions_api_id"), "api_versions", ["api_id"], unique=False)
    op.create_table(
        "api_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("version_hash", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["api_versions.id"],
            name=op.f("fk_api_decisions_version_id_api_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_decisions")),
        sa.UniqueConstraint("version_id", "role", "org", name=op.f("uq_api_decisions_version_id")),
    )
    op.create_index(
        op.f("ix_api_decisions_version_id"), "api_decisions", ["version_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_api_decisions_version_id"), table_name="api_decisions")
    op.drop_table("api_decisions")
    op.drop_index(op.f("ix_api_versions_api_id"), table_name="api_versions")
    op.drop_table("api_versions")
    op.drop_index(op.f("ix_serving_tables_name"), table_name="serving_tables")
    op.drop_table("serving_tables")
    op.drop_index(op.f("ix_api_keys_application_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("meter_digests")
    op.drop_table("applications")
    op.drop_index(op.f("ix_apis_project"), table_name="apis")
    op.drop_table("apis")
    op.drop_index(op.f("ix_api_calls_at"), table_name="api_calls")
    op.drop_index(op.f("ix_api_calls_application"), table_name="api_calls")
    op.drop_table("api_calls")
