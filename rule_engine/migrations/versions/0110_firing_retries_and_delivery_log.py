"""firing retries and outbox delivery log

Revision ID: 0110
Revises: 0101
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import metamodel.coltypes

revision = "0110"
down_revision = "0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("sys_rule_firing") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("next_attempt_at", metamodel.coltypes.UTCDateTime(), nullable=True))
    op.create_index(
        "ix_sys_rule_firing_retry", "sys_rule_firing", ["status", "next_attempt_at"], unique=False
    )
    op.create_table(
        "sys_outbox_attempt",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sys_outbox_attempt_outbox", "sys_outbox_attempt", ["outbox_id", "attempt"], unique=False
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_sys_outbox_attempt_outbox", table_name="sys_outbox_attempt")
    op.drop_table("sys_outbox_attempt")
    op.drop_index("ix_sys_rule_firing_retry", table_name="sys_rule_firing")
    with op.batch_alter_table("sys_rule_firing") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
