"""Reading the audit log: filters, newest first, keyset paging by id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, or_, select

from metamodel.systables import audit_log

MAX_LIMIT = 500


@dataclass(frozen=True)
class AuditQuery:
    """Filters of an audit search; ``before_id`` is the keyset cursor (entries older than it)."""

    entity: str | None = None
    record_id: int | None = None
    actor: str | None = None  # a user name or a user id
    action: str | None = None  # an action (record.update) or a family (record)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before_id: int | None = None
    limit: int = 50


def _statement(query: AuditQuery) -> Select[Any]:
    table = audit_log
    statement = select(table)
    if query.entity:
        statement = statement.where(table.c.entity == query.entity)
    if query.record_id is not None:
        statement = statement.where(table.c.record_id == query.record_id)
    if query.actor:
        by_name = table.c.actor_name == query.actor
        if query.actor.isdigit() and len(query.actor) < 19:
            statement = statement.where(or_(by_name, table.c.actor_id == int(query.actor)))
        else:
            statement = statement.where(by_name)
    if query.action:
        if "." in query.action:
            statement = statement.where(table.c.action == query.action)
        else:
            statement = statement.where(table.c.action.startswith(query.action + ".", autoescape=True))
    if query.since is not None:
        statement = statement.where(table.c.at >= query.since)
    if query.until is not None:
        statement = statement.where(table.c.at < query.until)
    if query.before_id is not None:
        statement = statement.where(table.c.id < query.before_id)
    return statement.order_by(table.c.id.desc())


def entry_dict(row: Any) -> dict[str, Any]:
    """Return the JSON shape of one entry."""
    at = row.at
    return {
        "id": row.id,
        "at": at.isoformat().replace("+00:00", "Z") if at is not None else None,
        "actor_id": row.actor_id,
        "actor_name": row.actor_name,
        "origin": row.origin,
        "action": row.action,
        "entity": row.entity,
        "record_id": row.record_id,
        "summary": row.summary,
        "changes": row.changes,
    }


def browse(conn: Connection, query: AuditQuery) -> tuple[list[dict[str, Any]], int | None]:
    """Return one page of entries, newest first, and the cursor of the next page (None at the end)."""
    limit = max(1, min(query.limit, MAX_LIMIT))
    rows = conn.execute(_statement(query).limit(limit + 1)).all()
    items = [entry_dict(row) for row in rows[:limit]]
    return items, (items[-1]["id"] if len(rows) > limit else None)


def iterate(conn: Connection, query: AuditQuery, batch: int = MAX_LIMIT) -> Iterator[dict[str, Any]]:
    """Yield every matching entry, newest first, reading ``batch`` rows at a time."""
    cursor = query.before_id
    while True:
        page = AuditQuery(
            query.entity, query.record_id, query.actor, query.action, query.since, query.until, cursor, batch
        )
        items, cursor = browse(conn, page)
        yield from items
        if cursor is None:
            return
