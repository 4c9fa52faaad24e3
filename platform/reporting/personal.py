"""Personal reports: a user's own report documents, stored beside the metadata and seen by her only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from metamodel.systables import personal_reports


def personal_docs(engine: Engine, user_id: int) -> dict[str, dict[str, Any]]:
    """Return the user's personal reports by name."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(personal_reports.c.name, personal_reports.c.body).where(
                personal_reports.c.user_id == user_id
            )
        ).all()
    return {str(row.name): {**dict(row.body), "personal": True} for row in rows}


def save_personal(engine: Engine, user_id: int, doc: dict[str, Any]) -> None:
    """Store (or replace) one of the user's personal reports."""
    now = dt.datetime.now(dt.UTC)
    body = {k: v for k, v in doc.items() if k != "personal"}
    key = (personal_reports.c.user_id == user_id) & (personal_reports.c.name == doc["name"])
    with engine.begin() as conn:
        changed = conn.execute(update(personal_reports).where(key).values(body=body, updated_at=now))
        if changed.rowcount == 0:
            conn.execute(
                insert(personal_reports).values(user_id=user_id, name=doc["name"], body=body, updated_at=now)
            )


def delete_personal(engine: Engine, user_id: int, name: str) -> bool:
    """Remove one of the user's personal reports; False when she has none of that name."""
    key = (personal_reports.c.user_id == user_id) & (personal_reports.c.name == name)
    with engine.begin() as conn:
        return bool(conn.execute(delete(personal_reports).where(key)).rowcount)
