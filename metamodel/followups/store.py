"""Writing and reading follow-up notes; a note also stamps the record's follow-up fields in one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from metamodel.errors import Problem, RecordInvalid
from metamodel.followups.config import FOLLOWUP_KINDS, followup_config
from metamodel.records.hooks import Actor, authorized_write
from metamodel.systables import followups

MAX_BODY = 4000


@dataclass(frozen=True)
class Followup:
    """One stored note."""

    id: int
    entity: str
    record_id: int
    kind: str
    body: str
    next_date: dt.date | None
    author_id: int | None
    at: dt.datetime


def add_followup(
    runtime: Any,
    entity: str,
    record_id: int,
    actor: Actor,
    *,
    kind: str,
    body: str,
    next_date: dt.date | None = None,
) -> Followup:
    """Store a note on a record the actor may read and stamp its follow-up fields; RecordInvalid on bad input."""
    problems = []
    if kind not in FOLLOWUP_KINDS:
        problems.append(Problem("kind", f"choose one of {', '.join(FOLLOWUP_KINDS)}", "enum"))
    text = body.strip()
    if not text:
        problems.append(Problem("body", "is required", "required"))
    elif len(text) > MAX_BODY:
        problems.append(Problem("body", f"at most {MAX_BODY} characters", "max_length"))
    if problems:
        raise RecordInvalid("the follow-up note is not valid", problems)
    model = runtime.model.entity(entity)
    with runtime.transaction(write=True) as conn:
        runtime.get(entity, record_id, actor, conn=conn)  # NotFound unless she may see the record
        now = actor.now or runtime.clock()
        result = conn.execute(
            followups.insert().values(
                entity=entity,
                record_id=record_id,
                kind=kind,
                body=text,
                next_date=next_date,
                author_id=actor.user_id,
                at=now,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        _stamp(runtime, conn, model, record_id, actor, now, next_date)
        return Followup(int(key[0]), entity, record_id, kind, text, next_date, actor.user_id, now)


def _stamp(
    runtime: Any,
    conn: Connection,
    model: Any,
    record_id: int,
    actor: Actor,
    now: dt.datetime,
    next_date: dt.date | None,
) -> None:
    # Writing a note is permitted to whoever may read the record, so the stamp is an authorized write
    # (as a transition's state), not an edit needing the update permission.
    config = followup_config(model.entity)
    if config is None:
        return
    values: dict[str, Any] = {}
    if config.last_at_field:
        is_date = model.fields[config.last_at_field].type == "date"
        today = runtime.model.local(now).date()  # the site's calendar day
        values[config.last_at_field] = today.isoformat() if is_date else now.isoformat()
    if config.next_date_field:
        values[config.next_date_field] = next_date.isoformat() if next_date else None
    if not values:
        return
    with authorized_write(conn, model.name, record_id, list(values)):
        runtime.update(model.name, record_id, values, actor, conn=conn)


def followups_of(conn: Connection, entity: str, record_id: int, limit: int = 100) -> list[Followup]:
    """Return a record's notes, newest first (the caller checked she may read the record)."""
    rows = conn.execute(
        select(followups)
        .where(followups.c.entity == entity, followups.c.record_id == record_id)
        .order_by(followups.c.id.desc())
        .limit(limit)
    )
    return [
        Followup(int(r.id), r.entity, int(r.record_id), r.kind, r.body, r.next_date, r.author_id, r.at)
        for r in rows
    ]
