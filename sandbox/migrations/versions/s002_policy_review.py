"""Sandbox: masking policy versions wait for an operator when they change an L4 column.

Revision ID: s002
Revises: s001
"""

import sqlalchemy as sa
from alembic import op

revision = "s002"
down_revision = "s001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("masking_policies") as batch:
        batch.add_column(
            sa.Column("status", sa.String(20), nullable=False, server_default="active")
        )
        batch.add_column(sa.Column("change_json", sa.Text(), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("masking_policies") as batch:
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
        batch.drop_column("change_json")
        batch.drop_column("status")
