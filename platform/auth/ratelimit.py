"""Fixed-window request limits per API client, counted in the database so all workers share them."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import Engine, case

from crm_platform.auth.upsert import insert_for
from metamodel.systables import rate_limits

WINDOW_SECONDS = 60
CLEANUP_CHANCE = 0.01  # now and then a request deletes counters of past windows, so the table stays small


@dataclass(frozen=True)
class Verdict:
    """Whether a request is within its limit, and if not, how many seconds until the window ends."""

    allowed: bool
    retry_after: int = 0


def hit(engine: Engine, key: str, limit: int, now: float) -> Verdict:
    """Count one request of ``key`` in the current window; refused once the window has ``limit`` requests."""
    if limit <= 0:
        return Verdict(True)
    window = int(now) // WINDOW_SECONDS * WINDOW_SECONDS
    table = rate_limits
    with engine.begin() as conn:
        # One upsert per request: a new window starts the count over, an ongoing one adds one.
        upsert = insert_for(conn, table).values(key=key[:200], window_start=window, count=1)
        count = conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "count": case((table.c.window_start == window, table.c.count + 1), else_=1),
                    "window_start": window,
                },
            ).returning(table.c.count)
        ).scalar_one()
        if random.random() < CLEANUP_CHANCE:
            conn.execute(table.delete().where(table.c.window_start < window))
    if count > limit:
        return Verdict(False, max(1, window + WINDOW_SECONDS - int(now)))
    return Verdict(True)
