"""Claiming a firing without waiting on a competitor, and bounding how long a stuck claim can block.

On PostgreSQL a firing's transaction first takes the record's row with ``FOR UPDATE SKIP LOCKED`` (a
record-less firing takes a transaction advisory lock with ``pg_try_advisory_xact_lock``): a firing held
by another scheduler is skipped at once instead of waited on, so two schedulers drain a backlog side by
side.  ``lock_timeout`` bounds any other wait, and ``idle_in_transaction_session_timeout`` makes the
server end the session of a frozen scheduler, which releases its claim (nothing of it was committed).
SQLite serialises writers, so none of this applies there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, literal, select, text

from metamodel.model import SiteModel


@dataclass(frozen=True)
class Timeouts:
    """PostgreSQL timeouts of one firing transaction, in milliseconds (0 turns one off)."""

    lock_ms: int = 10_000
    idle_ms: int = 60_000


def set_timeouts(conn: Connection, timeouts: Timeouts) -> None:
    """Apply ``timeouts`` to the current transaction (PostgreSQL only)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text(f"SET LOCAL lock_timeout = {int(timeouts.lock_ms)}"))
    conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {int(timeouts.idle_ms)}"))


def take(conn: Connection, site: SiteModel, entity: str, record_id: int, rule: str, key: str) -> bool:
    """Lock the firing's record (or key) without waiting; False when another transaction holds it."""
    if conn.dialect.name != "postgresql":
        return True
    if not record_id:
        name = literal(f"{rule}|{key}")
        return bool(conn.execute(select(func.pg_try_advisory_xact_lock(func.hashtext(name)))).scalar())
    table = site.entity(entity).table
    mine = select(table.c.id).where(table.c.id == record_id)
    if conn.execute(mine.with_for_update(skip_locked=True)).first() is not None:
        return True
    # Not lockable: held by someone (busy), or deleted (the firing goes on to be skipped).
    return conn.execute(mine).first() is None
