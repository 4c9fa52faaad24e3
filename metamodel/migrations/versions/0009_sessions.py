"""server-side sign-in sessions: sys_session, so logout, password changes and deactivation end them

Revision ID: 0009
Revises: 0002
Create Date: 2026-12-05 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from metamodel.coltypes import UTCDateTime

revision = "0009"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["sys_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sys_session_user_id", "sys_session", ["user_id"])
    op.create_index("ix_sys_session_created_at", "sys_session", ["created_at"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_sys_session_created_at", table_name="sys_session")
    op.drop_index("ix_sys_session_user_id", table_name="sys_session")
    op.drop_table("sys_session")
