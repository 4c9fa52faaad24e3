"""Pending approvals of transitions that need a holder of their ``approval_role``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select

from rule_engine.evaluation import plain
from rule_engine.tables import approvals

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


def request_approval(
    conn: Connection,
    *,
    entity: str,
    record_id: int,
    workflow: str,
    transition: str,
    role: str,
    requested_by: int | None,
    at: dt.datetime,
    comment: str,
) -> int:
    """Insert a pending approval; returns its id."""
    result = conn.execute(
        approvals.insert().values(
            entity=entity,
            record_id=record_id,
            workflow=workflow,
            transition=transition,
            role=role,
            requested_by=requested_by,
            requested_at=at,
            comment=comment[:2000],
            status=PENDING,
            decision_comment="",
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def pending_of(conn: Connection, entity: str, record_id: int) -> list[dict[str, Any]]:
    """Return the record's pending approvals, oldest first, in JSON form."""
    rows = conn.execute(
        select(approvals)
        .where(
            approvals.c.entity == entity, approvals.c.record_id == record_id, approvals.c.status == PENDING
        )
        .order_by(approvals.c.id)
    ).mappings()
    return [plain(dict(row)) for row in rows]


def find_approval(conn: Connection, approval_id: int) -> dict[str, Any] | None:
    """Return one approval row, or None."""
    row = conn.execute(select(approvals).where(approvals.c.id == approval_id)).mappings().first()
    return None if row is None else dict(row)


def decide(
    conn: Connection, approval_id: int, status: str, decided_by: int | None, at: dt.datetime, comment: str
) -> bool:
    """Close a pending approval as approved or rejected; False when it was no longer pending."""
    result = conn.execute(
        approvals.update()
        .where(approvals.c.id == approval_id, approvals.c.status == PENDING)
        .values(status=status, decided_by=decided_by, decided_at=at, decision_comment=comment[:2000])
    )
    return result.rowcount == 1


def waiting_for(conn: Connection, roles: set[str] | None, limit: int = 100) -> list[dict[str, Any]]:
    """Return pending approvals a holder of ``roles`` may decide (None: every one, for administrators)."""
    statement = select(approvals).where(approvals.c.status == PENDING)
    if roles is not None:
        if not roles:
            return []
        statement = statement.where(approvals.c.role.in_(sorted(roles)))
    rows = conn.execute(statement.order_by(approvals.c.id).limit(limit)).mappings()
    return [dict(row) for row in rows]
