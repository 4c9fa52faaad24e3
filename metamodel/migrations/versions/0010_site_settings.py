"""site settings: sys_setting (language, time zone) and each user's own time zone

Revision ID: 0010
Revises: 0002
Create Date: 2026-12-05 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from metamodel.coltypes import UTCDateTime

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_setting",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80)),
        sa.PrimaryKeyConstraint("key"),
    )
    op.add_column("sys_user", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("sys_user") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("time_zone")
    op.drop_table("sys_setting")
