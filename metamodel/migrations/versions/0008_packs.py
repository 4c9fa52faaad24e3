"""industry packs: sys_pack, one row per installed pack with its documents as installed

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-23 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from metamodel.coltypes import UTCDateTime

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_pack",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False, server_default="installed"),
        sa.Column("installed_at", UTCDateTime(), nullable=False),
        sa.Column("installed_by", sa.String(length=80), nullable=True),
        sa.Column("metadata_version", sa.Integer(), nullable=True),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("sys_pack")
