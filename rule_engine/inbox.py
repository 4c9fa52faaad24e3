"""The in-app inbox of a user: the messages ``notify`` actions wrote, unread counts and marking read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from rule_engine.tables import inbox


def unread_count(conn: Connection, user_id: int) -> int:
    """Return how many of the user's messages are unread."""
    statement = select(func.count()).where(inbox.c.user_id == user_id, inbox.c.read_at.is_(None))
    return int(conn.execute(statement).scalar_one())


def messages_of(
    conn: Connection, user_id: int, *, unread_only: bool = False, before: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Return the user's messages, newest first (``before``: an id, to page further back)."""
    statement = select(inbox).where(inbox.c.user_id == user_id)
    if unread_only:
        statement = statement.where(inbox.c.read_at.is_(None))
    if before is not None:
        statement = statement.where(inbox.c.id < before)
    rows = conn.execute(statement.order_by(inbox.c.id.desc()).limit(limit)).mappings()
    return [dict(row) for row in rows]


def mark_read(conn: Connection, user_id: int, ids: Iterable[int] | None, at: dt.datetime) -> int:
    """Mark the user's messages ``ids`` (None: all of them) read; returns how many changed.

    Only her own rows are touched, whatever ids are sent.
    """
    statement = inbox.update().where(inbox.c.user_id == user_id, inbox.c.read_at.is_(None))
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        statement = statement.where(inbox.c.id.in_(wanted))
    return int(conn.execute(statement.values(read_at=at)).rowcount)
