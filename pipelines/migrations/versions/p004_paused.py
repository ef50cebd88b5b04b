"""Pipelines: why the contract monitor paused a deployment (None: not paused by it).

Revision ID: p004
Revises: p003
"""

import sqlalchemy as sa
from alembic import op

revision = "p004"
down_revision = "p003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_deployments") as batch:
        batch.add_column(sa.Column("paused_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_deployments") as batch:
        batch.drop_column("paused_reason")
