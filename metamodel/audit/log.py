"""Writing audit entries; the only statement the app ever runs against ``sys_audit`` besides SELECT."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from metamodel.audit.masking import redact_secrets
from metamodel.records.batch import defer_insert, flush_deferred
from metamodel.records.hooks import Actor
from metamodel.systables import audit_log

ACTIONS = (
    "record.create",
    "record.update",
    "record.delete",
    "record.transition",
    "record.claim",
    "record.release",
    "record.pool_return",
    "record.reveal",
    "record.export",
    "meta.publish",
    "meta.rollback",
    "auth.login",
    "auth.login_failed",
    "auth.logout",
    "access.change",
    "settings.change",
    "import.start",
    "import.undo",
)
SYSTEM_NAME = "system"
_MAX_SUMMARY = 1000
_INSERT = audit_log.insert()


def write_entry(
    conn: Connection,
    action: str,
    *,
    actor_id: int | None,
    actor_name: str | None,
    origin: str | None,
    at: dt.datetime | None = None,
    entity: str | None = None,
    record_id: int | None = None,
    summary: str = "",
    changes: Any = None,
) -> int:
    """Append one entry in the caller's transaction and return its id."""
    # Entries a batch deferred go first, so ids keep the order of events.
    flush_deferred(conn)
    result = conn.execute(
        _INSERT, _row(action, actor_id, actor_name, origin, at, entity, record_id, summary, changes)
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _row(
    action: str,
    actor_id: int | None,
    actor_name: str | None,
    origin: str | None,
    at: dt.datetime | None,
    entity: str | None,
    record_id: int | None,
    summary: str,
    changes: Any,
) -> dict[str, Any]:
    # The parameters of the one prepared INSERT: no statement built and keyed per entry (hot in imports).
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'")
    name = actor_name or (SYSTEM_NAME if actor_id is None else None)
    return {
        "at": at or dt.datetime.now(dt.UTC),
        "actor_id": actor_id,
        "actor_name": name[:80] if name else None,
        "origin": origin[:64] if origin else None,
        "action": action,
        "entity": entity,
        "record_id": record_id,
        "summary": summary[:_MAX_SUMMARY],
        "changes": changes,
    }


def write_system_entries(
    conn: Connection, action: str, at: dt.datetime, origin: str, entries: list[dict[str, Any]]
) -> None:
    """Append many entries of the system actor at once (``entity``, ``record_id``, ``summary``, ``changes`` each)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'")
    if entries:
        flush_deferred(conn)
        conn.execute(
            audit_log.insert(),
            [
                {
                    "at": at,
                    "actor_id": None,
                    "actor_name": SYSTEM_NAME,
                    "origin": origin,
                    "action": action,
                    "entity": entry["entity"],
                    "record_id": entry["record_id"],
                    "summary": str(entry.get("summary", ""))[:_MAX_SUMMARY],
                    "changes": entry.get("changes"),
                }
                for entry in entries
            ],
        )


def write_for_actor(
    conn: Connection, action: str, actor: Actor, origin: str | None = None, **entry: Any
) -> int:
    """Append an entry on behalf of a record-runtime actor (``origin`` when the actor has none)."""
    return write_entry(
        conn,
        action,
        actor_id=actor.user_id,
        actor_name=actor.username,
        origin=actor.origin or origin,
        at=actor.now,
        **entry,
    )


def log_record_change(
    conn: Connection,
    action: str,
    actor: Actor,
    origin: str | None,
    *,
    entity: str,
    record_id: int,
    summary: str,
    changes: Any,
) -> None:
    """Append a record change's entry; an optimistic batch (an import) inserts its entries together at its end."""
    row = _row(
        action,
        actor.user_id,
        actor.username,
        actor.origin or origin,
        actor.now,
        entity,
        record_id,
        summary,
        changes,
    )
    defer_insert(conn, _INSERT, row)


def record_access_change(conn: Connection, actor: Actor, summary: str, details: Any = None) -> int:
    """Log a permission change (roles, grants, shares, org units) in the change's transaction."""
    return write_for_actor(conn, "access.change", actor, summary=summary, changes=redact_secrets(details))


def record_sign_in(
    conn: Connection, username: str, user_id: int | None, ip: str, outcome: str, at: dt.datetime
) -> int:
    """Log a sign-in attempt: ``auth.login`` when ``outcome`` is success, else ``auth.login_failed``."""
    action = "auth.login" if outcome == "success" else "auth.login_failed"
    return write_entry(
        conn,
        action,
        actor_id=user_id,
        actor_name=username or "?",
        origin=ip,
        at=at,
        summary=f"sign-in {outcome}",
    )


def record_sign_out(
    conn: Connection, username: str, user_id: int, ip: str, at: dt.datetime | None = None
) -> int:
    """Log a sign-out."""
    return write_entry(
        conn, "auth.logout", actor_id=user_id, actor_name=username, origin=ip, at=at, summary="signed out"
    )
