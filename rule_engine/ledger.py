"""The firing ledger: one row per (rule, record, due key), claimed by inserting it.

Whoever inserts the row first owns the firing; a competitor's ``INSERT ... ON CONFLICT DO NOTHING``
inserts nothing (no error, so no PostgreSQL ERROR log line per lost claim; on PostgreSQL it waits for
the owner's transaction, so a crashed owner's claim simply disappears).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Insert, String, func, literal, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from rule_engine.tables import firings

MAX_ATTEMPTS = 5
BASE_RETRY_DELAY = dt.timedelta(minutes=1)


def due_key(moment: dt.datetime | dt.date) -> str:
    """Return the ledger key of a due time: UTC to the second, e.g. ``2026-01-31T09:30:00Z``."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_moment(value: Any) -> dt.datetime | None:
    """Return a stored or serialized date/datetime as an aware UTC datetime (dates at midnight)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        value = dt.datetime.fromisoformat(text) if "T" in text or " " in text else dt.date.fromisoformat(text)
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def due_key_sql(column: Any, seconds: int, dialect: str) -> ColumnElement[str]:
    """Return SQL computing ``due_key(column + seconds)``, so NOT EXISTS can probe the ledger's index."""
    if dialect == "sqlite":
        # Cut the stored text to whole seconds first: SQLite rounds .9995+ fractions up, Python truncates.
        whole = func.substr(column, 1, 19)
        return func.strftime(
            literal("%Y-%m-%dT%H:%M:%SZ"), whole, literal(f"{seconds:+d} seconds"), type_=String
        )
    if dialect == "postgresql":
        shifted = column + literal_column(f"INTERVAL '{int(seconds)} seconds'")
        return func.to_char(shifted, literal('YYYY-MM-DD"T"HH24:MI:SS"Z"'), type_=String)
    raise NotImplementedError(f"time triggers do not support the {dialect} database")


def not_fired(rule: str, record_id: Any, key: Any) -> ColumnElement[bool]:
    """Return ``NOT EXISTS`` a ledger row for (rule, record, key)."""
    return (
        ~select(firings.c.id)
        .where(firings.c.rule == rule, firings.c.record_id == record_id, firings.c.due_key == key)
        .exists()
    )


def claim(
    conn: Connection,
    rule: str,
    entity: str,
    record_id: int,
    key: str,
    now: dt.datetime,
    status: str = "done",
    detail: str = "",
    next_attempt_at: dt.datetime | None = None,
) -> int | None:
    """Insert the ledger row unless its key exists; returns its id, or None when the key is already taken."""
    values = {
        "rule": rule,
        "entity": entity,
        "record_id": record_id,
        "due_key": key,
        "fired_at": now,
        "status": status,
        "detail": detail[:2000],
        "attempts": 1,
        "next_attempt_at": next_attempt_at,
    }
    statement = _CLAIMS.get(conn.dialect.name)
    if statement is None:
        # Built once per dialect: an import claims a firing per record, no statement built per claim.
        statement = _CLAIMS[conn.dialect.name] = _insert_ignoring_conflict(conn.dialect.name).returning(
            firings.c.id
        )
    key_row = conn.execute(statement, values).first()
    return int(key_row[0]) if key_row else None


_CLAIMS: dict[str, Insert] = {}


def _insert_ignoring_conflict(dialect: str) -> Insert:
    keys = ["rule", "record_id", "due_key"]
    if dialect == "postgresql":
        return postgresql.insert(firings).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(firings).on_conflict_do_nothing(index_elements=keys)
    raise NotImplementedError(f"the firing ledger does not support the {dialect} database")


def set_status(conn: Connection, firing_id: int, status: str, detail: str = "") -> None:
    """Change the status (done | skipped | failed | retry) of a ledger row."""
    conn.execute(update(firings).where(firings.c.id == firing_id).values(status=status, detail=detail[:2000]))


def retry_delay(attempt: int, base: dt.timedelta = BASE_RETRY_DELAY) -> dt.timedelta:
    """Return the wait before retry number ``attempt`` (1, 2, 4, 8 ... times the base)."""
    factor: int = 2 ** max(0, attempt - 1)
    return base * factor


def failure_status(retry: bool, attempt: int, max_attempts: int = MAX_ATTEMPTS) -> str:
    """Return 'retry' while a safe retry remains, else 'failed'."""
    return "retry" if retry and attempt < max_attempts else "failed"
