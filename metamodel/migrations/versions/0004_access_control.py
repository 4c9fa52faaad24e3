"""access control: org units, role permissions, role expiry, record shares

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 13:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from metamodel.coltypes import UTCDateTime

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_org_unit",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["sys_org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_sys_org_unit_parent_id", "sys_org_unit", ["parent_id"])
    op.create_table(
        "sys_org_unit_tree",
        sa.Column("ancestor_id", sa.BigInteger(), nullable=False),
        sa.Column("descendant_id", sa.BigInteger(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ancestor_id"], ["sys_org_unit.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["descendant_id"], ["sys_org_unit.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ancestor_id", "descendant_id"),
    )
    op.create_index("ix_sys_org_unit_tree_descendant", "sys_org_unit_tree", ["descendant_id", "ancestor_id"])
    op.create_table(
        "sys_user_org_unit",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["sys_user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["sys_org_unit.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_sys_user_org_unit_unit", "sys_user_org_unit", ["unit_id", "user_id"])
    op.create_table(
        "sys_role_permission",
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.Column("entity", sa.String(length=80), nullable=False),
        sa.Column("operation", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["role"], ["sys_role.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("role", "entity", "operation"),
    )
    op.create_table(
        "sys_user_role_expiry",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id", "role"], ["sys_user_role.user_id", "sys_user_role.role"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role"),
    )
    op.create_table(
        "sys_record_share",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("team", sa.String(length=80), nullable=True),
        sa.Column("permission", sa.String(length=10), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("(user_id IS NULL) <> (team IS NULL)", name="ck_sys_record_share_grantee"),
        sa.ForeignKeyConstraint(["team"], ["sys_team.name"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["sys_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sys_record_share_user", "sys_record_share", ["user_id", "entity_id", "record_id"])
    op.create_index("ix_sys_record_share_team", "sys_record_share", ["team", "entity_id", "record_id"])
    op.create_index("ix_sys_record_share_record", "sys_record_share", ["entity_id", "record_id"])
    op.create_table(
        "sys_access_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("enforced", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("sys_access_state")
    op.drop_index("ix_sys_record_share_record", table_name="sys_record_share")
    op.drop_index("ix_sys_record_share_team", table_name="sys_record_share")
    op.drop_index("ix_sys_record_share_user", table_name="sys_record_share")
    op.drop_table("sys_record_share")
    op.drop_table("sys_user_role_expiry")
    op.drop_table("sys_role_permission")
    op.drop_index("ix_sys_user_org_unit_unit", table_name="sys_user_org_unit")
    op.drop_table("sys_user_org_unit")
    op.drop_index("ix_sys_org_unit_tree_descendant", table_name="sys_org_unit_tree")
    op.drop_table("sys_org_unit_tree")
    op.drop_index("ix_sys_org_unit_parent_id", table_name="sys_org_unit")
    op.drop_table("sys_org_unit")
