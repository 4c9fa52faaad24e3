"""Per-rule watermarks: since when a time rule's due times count, and when it was last drained.

A rule seen for the first time counts due times from ``now - lookback`` (publishing a rule does not act
on years-old anchors).  Once the scheduler has fired (or recorded as skipped) everything due, it moves
``drained_to`` to that tick's clock reading; later ticks scan from ``drained_to - lookback`` plus every
record edited since then whose due time lies after ``since``, so neither an outage nor a back-dated
record loses a firing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from rule_engine.scheduler.due import DueWindow
from rule_engine.tables import rule_watermarks
from rule_engine.triggers.spec import TriggerSpec


def window_for(conn: Connection, trigger: TriggerSpec, now: dt.datetime) -> DueWindow:
    """Return the due window of ``trigger`` at ``now``, creating its watermark on first sight."""
    schedule = trigger.schedule
    lookback = dt.timedelta(seconds=schedule.lookback_seconds if schedule else 0)
    row = conn.execute(select(rule_watermarks).where(rule_watermarks.c.rule == trigger.name)).first()
    if row is None:
        since = now - lookback
        values = {"rule": trigger.name, "since": since, "backlog": 0, "updated_at": now}
        insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(rule_watermarks)
        conn.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["rule"]))
        return DueWindow(since, since)
    since, drained = row.since, row.drained_to
    if drained is None:
        return DueWindow(since, since)
    low = max(since, drained - lookback)
    return DueWindow(low, since, edited_after=drained - lookback)


def mark(db: Engine, rule: str, now: dt.datetime, drained: bool, backlog: int) -> None:
    """Record the end of a rule's pass: drained up to ``now`` (never moving back), or the backlog left."""
    with db.begin() as conn:
        if drained:
            conn.execute(
                update(rule_watermarks)
                .where(
                    rule_watermarks.c.rule == rule,
                    or_(rule_watermarks.c.drained_to.is_(None), rule_watermarks.c.drained_to < now),
                )
                .values(drained_to=now, backlog=0, updated_at=now)
            )
        else:
            conn.execute(
                update(rule_watermarks)
                .where(rule_watermarks.c.rule == rule)
                .values(backlog=backlog, updated_at=now)
            )
