"""Pipelines: what a submission left out of its version (scanned as findings).

Revision ID: p003
Revises: p002
"""

import sqlalchemy as sa
from alembic import op

revision = "p003"
down_revision = "p002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_versions") as batch:
        batch.add_column(sa.Column("skipped", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_versions") as batch:
        batch.drop_column("skipped")
