"""auth hardening: password-change flag, TOTP, token scopes and use, sign-in attempts, throttles, rate limits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import metamodel.coltypes

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    # Plain ADD COLUMN, not batch mode: on SQLite a batch rebuild drops sys_user, and with foreign keys
    # on that drop cascades to the rows referencing users (tokens, roles, team memberships).
    op.add_column(
        "sys_user", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("sys_user", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column(
        "sys_user", sa.Column("totp_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("sys_user", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column("sys_api_token", sa.Column("scopes", sa.String(length=200), nullable=True))
    op.add_column("sys_api_token", sa.Column("last_used_at", metamodel.coltypes.UTCDateTime(), nullable=True))
    op.create_table(
        "sys_login_attempt",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sys_login_attempt_at", "sys_login_attempt", ["at"], unique=False)
    op.create_index("ix_sys_login_attempt_username", "sys_login_attempt", ["username"], unique=False)
    op.create_table(
        "sys_auth_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.Column("locked_until", metamodel.coltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sys_rate_limit",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("sys_rate_limit")
    op.drop_table("sys_auth_throttle")
    op.drop_index("ix_sys_login_attempt_username", table_name="sys_login_attempt")
    op.drop_index("ix_sys_login_attempt_at", table_name="sys_login_attempt")
    op.drop_table("sys_login_attempt")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), again to avoid a cascading table rebuild.
    for table, column in (
        ("sys_api_token", "last_used_at"),
        ("sys_api_token", "scopes"),
        ("sys_user", "totp_last_step"),
        ("sys_user", "totp_enabled"),
        ("sys_user", "totp_secret"),
        ("sys_user", "must_change_password"),
    ):
        op.drop_column(table, column)
