"""per-rule watermarks of the scheduler

Revision ID: 0140
Revises: 0110
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import metamodel.coltypes

revision = "0140"
down_revision = "0110"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_rule_watermark",
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("since", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.Column("drained_to", metamodel.coltypes.UTCDateTime(), nullable=True),
        sa.Column("backlog", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("rule"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("sys_rule_watermark")
