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
    with op.batch_alter_table("sys_user") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("sys_api_token") as batch:
        batch.add_column(sa.Column("scopes", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("last_used_at", metamodel.coltypes.UTCDateTime(), nullable=True))
    op.create_table(
        "sys_login_attempt",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", metamodel.coltypes.UTCDateTime(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sys_login_attempt") as batch:
        batch.create_index(batch.f("ix_sys_login_attempt_at"), ["at"], unique=False)
        batch.create_index(batch.f("ix_sys_login_attempt_username"), ["username"], unique=False)
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
    with op.batch_alter_table("sys_login_attempt") as batch:
        batch.drop_index(batch.f("ix_sys_login_attempt_username"))
        batch.drop_index(batch.f("ix_sys_login_attempt_at"))
    op.drop_table("sys_login_attempt")
    with op.batch_alter_table("sys_api_token") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("scopes")
    with op.batch_alter_table("sys_user") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled")
        batch.drop_column("totp_secret")
        batch.drop_column("must_change_password")
