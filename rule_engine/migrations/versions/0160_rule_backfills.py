"""backfill jobs of formula and roll-up fields

Revision ID: 0160
Revises: 0150
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import metamodel.coltypes

revision = "0160"
down_revision = "0150"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_rule_backfill",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("entity", sa.String(length=80), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sys_rule_backfill_status", "sys_rule_backfill", ["status", "id"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_sys_rule_backfill_status", table_name="sys_rule_backfill")
    op.drop_table("sys_rule_backfill")
