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
    # A SQLite downgrade leaves the column in place (see downgrade), so it may already be there.
    if "time_zone" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("sys_user")}:
        op.add_column("sys_user", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    # On SQLite dropping a column copies the table, and dropping the old copy would cascade to every
    # row that references a user (tokens, roles); there the unused column is left in place.
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("sys_user", "time_zone")
    op.drop_table("sys_setting")
