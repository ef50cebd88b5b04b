"""Pipelines: the project a version belongs to; what a submission left out of it.

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
        batch.add_column(sa.Column("project", sa.String(100), nullable=True))
        batch.create_index("ix_pipeline_versions_project", ["project"])


def downgrade() -> None:
    with op.batch_alter_table("pipeline_versions") as batch:
        batch.drop_index("ix_pipeline_versions_project")
        batch.drop_column("project")
        batch.drop_column("skipped")
