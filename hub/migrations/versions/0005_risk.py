"""Risk alerts and freezes.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "risk_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("trigger_seq", sa.BigInteger(), nullable=True),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=True),
        sa.Column("freeze_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index(op.f("ix_risk_alerts_rule"), "risk_alerts", ["rule"])
    op.create_index(op.f("ix_risk_alerts_subject"), "risk_alerts", ["subject"])
    op.create_table(
        "freezes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("changed", sa.Text(), nullable=False),
        sa.Column("frozen_by", sa.String(100), nullable=False),
        sa.Column("frozen_at", TZ, nullable=False),
        sa.Column("lifted_by", sa.String(100), nullable=True),
        sa.Column("lifted_at", TZ, nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
    )
    op.create_index(op.f("ix_freezes_target"), "freezes", ["target"])


def downgrade() -> None:
    op.drop_table("freezes")
    op.drop_table("risk_alerts")
