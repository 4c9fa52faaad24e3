"""field-level security: per role, a field of an entity is hidden, read-only or masked

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-23 16:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_field_permission",
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.Column("entity", sa.String(length=80), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("access", sa.String(length=20), nullable=False),
        sa.Column("mask", sa.String(length=40), nullable=True),
        sa.Column("reveal", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["role"], ["sys_role.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("role", "entity", "field"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("sys_field_permission")
