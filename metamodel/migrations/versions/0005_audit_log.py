"""audit log: sys_audit, append-only by database triggers, and the auditor role

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-23 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from metamodel.coltypes import UTCDateTime

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

_REFUSAL = "sys_audit is append-only"


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "sys_audit",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(length=80), nullable=True),
        sa.Column("origin", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("entity", sa.String(length=80), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sys_audit_record", "sys_audit", ["entity", "record_id", "id"])
    op.create_index("ix_sys_audit_at", "sys_audit", ["at"])
    # The app only ever inserts; these triggers make the database refuse changes and deletions too,
    # so a bug or a stray statement cannot rewrite the trail.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION sys_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER sys_audit_no_change BEFORE UPDATE OR DELETE ON sys_audit "
            "FOR EACH ROW EXECUTE FUNCTION sys_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER sys_audit_no_truncate BEFORE TRUNCATE ON sys_audit "
            "FOR EACH STATEMENT EXECUTE FUNCTION sys_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER sys_audit_no_{event.lower()} BEFORE {event} ON sys_audit "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
            )
    # Holders of this role may browse and export the audit log (administrators always may).
    op.execute(
        'INSERT INTO sys_role (name, label) SELECT \'auditor\', \'{"en": "Auditor", "zh-CN": "审计员"}\' '
        "WHERE NOT EXISTS (SELECT 1 FROM sys_role WHERE name = 'auditor')"
    )


def downgrade() -> None:
    """Revert this migration (the auditor role stays: users may hold it)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE sys_audit")
        op.execute("DROP FUNCTION sys_audit_append_only()")
    else:
        op.drop_index("ix_sys_audit_at", table_name="sys_audit")
        op.drop_index("ix_sys_audit_record", table_name="sys_audit")
        op.drop_table("sys_audit")
