"""the rule-error log and the per-rule failure counter with its runtime disable switch

Revision ID: 0150
Revises: 0140
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import metamodel.coltypes

revision = "0150"
down_revision = "0140"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_rule_error",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=80), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.Column("last_at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "record_id", name="uq_sys_rule_error_key"),
    )
    op.create_index("ix_sys_rule_error_last", "sys_rule_error", ["last_at"])
    op.create_table(
        "sys_rule_health",
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("consecutive", sa.Integer(), nullable=False),
        sa.Column("disabled_at", metamodel.coltypes.UTCDateTime(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("rule"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("sys_rule_health")
    op.drop_index("ix_sys_rule_error_last", table_name="sys_rule_error")
    op.drop_table("sys_rule_error")
