"""lead pool: sys_pool_holding (who holds a pool record since when, and whether it was claimed)

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-23 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from metamodel.coltypes import UTCDateTime

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_pool_holding",
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("claimed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "record_id"),
    )
    op.create_index("ix_sys_pool_holding_user", "sys_pool_holding", ["entity_id", "user_id", "claimed"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_sys_pool_holding_user", table_name="sys_pool_holding")
    op.drop_table("sys_pool_holding")
