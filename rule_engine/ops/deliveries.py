"""The delivery log of outbox messages (webhooks and e-mails): status, attempts, last error, and retry now.

The API and the studio's deliveries page both read and requeue through these functions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select, update

from metamodel.errors import Conflict, NotFound, Problem, RecordInvalid
from rule_engine.tables import outbox, outbox_attempts

STATUSES = ("pending", "delivered", "failed")
KINDS = ("webhook", "email")
MAX_PAGE = 200


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat().replace("+00:00", "Z")


def _target(row: Any) -> str:
    # An e-mail's address and a webhook's URL are what an operator recognises; never the payload's secrets.
    return str(row.target)[:300]


def _message(row: Any) -> dict[str, Any]:
    payload = row.payload if isinstance(row.payload, dict) else {}
    return {
        "id": int(row.id),
        "kind": row.kind,
        "rule": row.rule,
        "target": _target(row),
        "subject": str(payload.get("subject") or "")[:300],
        "status": row.status,
        "attempts": int(row.attempts),
        "last_error": row.last_error or "",
        "response_status": row.response_status,
        "created_at": _iso(row.created_at),
        "next_attempt_at": _iso(row.next_attempt_at) if row.status == "pending" else None,
        "delivered_at": _iso(row.delivered_at),
    }


def list_deliveries(
    db: Engine, *, status: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Return a page of outbox messages, newest first, optionally of one status and kind."""
    problems = []
    if status is not None and status not in STATUSES:
        problems.append(Problem("status", f"must be one of: {', '.join(STATUSES)}", "choice"))
    if kind is not None and kind not in KINDS:
        problems.append(Problem("kind", f"must be one of: {', '.join(KINDS)}", "choice"))
    if problems:
        raise RecordInvalid("the filter is not valid", problems)
    query = select(outbox)
    if status:
        query = query.where(outbox.c.status == status)
    if kind:
        query = query.where(outbox.c.kind == kind)
    with db.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(
            query.order_by(outbox.c.id.desc()).limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
        ).all()
    return {"items": [_message(r) for r in rows], "total": int(total)}


def delivery(db: Engine, message_id: int) -> dict[str, Any]:
    """Return one message with every delivery attempt (oldest first)."""
    with db.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == message_id)).first()
        if row is None:
            raise NotFound(f"no delivery {message_id}")
        tries = conn.execute(
            select(outbox_attempts)
            .where(outbox_attempts.c.outbox_id == message_id)
            .order_by(outbox_attempts.c.attempt)
        ).all()
    found = _message(row)
    found["log"] = [
        {
            "attempt": int(a.attempt),
            "at": _iso(a.at),
            "status": a.status,
            "response_status": a.response_status,
            "error": a.error or "",
            "duration_ms": a.duration_ms,
        }
        for a in tries
    ]
    return found


def retry_now(db: Engine, message_id: int, now: dt.datetime) -> dict[str, Any]:
    """Queue a failed (or waiting) message for the scheduler's next delivery run; a delivered one is refused."""
    with db.begin() as conn:
        row = conn.execute(select(outbox.c.status).where(outbox.c.id == message_id)).first()
        if row is None:
            raise NotFound(f"no delivery {message_id}")
        if row.status == "delivered":
            raise Conflict(f"delivery {message_id} was already delivered")
        # Attempts are kept: the log stays whole, and the worker's count goes on from there.
        conn.execute(
            update(outbox).where(outbox.c.id == message_id).values(status="pending", next_attempt_at=now)
        )
    return delivery(db, message_id)
