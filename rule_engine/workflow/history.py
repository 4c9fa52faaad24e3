"""The state history of records: one row per state change, the latest marked current."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select

from rule_engine.evaluation import plain
from rule_engine.tables import state_history


def record_state_change(
    conn: Connection,
    *,
    entity: str,
    record_id: int,
    workflow: str,
    from_state: str | None,
    to_state: str,
    transition: str | None,
    actor_id: int | None,
    at: dt.datetime,
    comment: str = "",
) -> int:
    """Mark the record's older rows not current and insert the new current row; returns its id."""
    # Time-in-state triggers read the current row's ``at``: exactly one row per record is current.
    conn.execute(
        state_history.update()
        .where(
            state_history.c.entity == entity,
            state_history.c.record_id == record_id,
            state_history.c.is_current.is_(True),
        )
        .values(is_current=False)
    )
    result = conn.execute(
        state_history.insert().values(
            entity=entity,
            record_id=record_id,
            workflow=workflow,
            from_state=from_state,
            to_state=to_state,
            transition=transition,
            actor_id=actor_id,
            at=at,
            comment=comment[:2000],
            is_current=True,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def history_of(conn: Connection, entity: str, record_id: int) -> list[dict[str, Any]]:
    """Return the record's state changes, oldest first, in JSON form."""
    rows = conn.execute(
        select(state_history)
        .where(state_history.c.entity == entity, state_history.c.record_id == record_id)
        .order_by(state_history.c.id)
    ).mappings()
    return [plain(dict(row)) for row in rows]
