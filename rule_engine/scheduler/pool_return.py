"""The periodic job that returns records without follow-up to their entity's lead pool and tells their former owners."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from metamodel.model import SiteModel
from metamodel.pool.config import pool_config
from metamodel.pool.sweep import return_stale
from rule_engine.tables import inbox

RULE = "pool.auto_return"


class PoolReturnJob:
    """Every ``every``, return stale records of every entity with ``pool.return_after_days`` (a periodic job)."""

    name = "pool_return"

    def __init__(self, site: Callable[[], SiteModel], every: dt.timedelta = dt.timedelta(minutes=10)) -> None:
        self.site = site
        self.every = every

    def run(self, conn: Connection, now: dt.datetime) -> dict[str, int]:
        """Return stale records entity by entity; one inbox message per former owner and entity."""
        report: dict[str, int] = {}
        for model in self.site().entities.values():
            config = pool_config(model.entity)
            if config is None or not config.return_after_days:
                continue
            returned = return_stale(conn, model, now)
            if returned:
                report[model.name] = len(returned)
                _notify(
                    conn, model.name, model.entity.label("zh-CN"), config.return_after_days, returned, now
                )
        return report


def _notify(
    conn: Connection, entity: str, label: str, days: int, returned: list[tuple[int, int]], now: dt.datetime
) -> None:
    per_owner = Counter(owner for _, owner in returned)
    first: dict[int, int] = {}
    for record_id, owner in returned:
        first.setdefault(owner, record_id)
    rows: list[dict[str, Any]] = []
    for owner, count in sorted(per_owner.items()):
        rows.append(
            {
                "user_id": owner,
                "subject": f"{count} {entity} record(s) returned to the pool / {count} 条{label}已退回公海"[
                    :300
                ],
                "body": (
                    f"No follow-up for {days} days: {count} {entity} record(s) went back to the pool.\n"
                    f"超过 {days} 天未跟进：{count} 条{label}已退回公海。"
                ),
                "entity": entity,
                "record_id": first[owner] if count == 1 else None,
                "rule": RULE,
                "created_at": now,
            }
        )
    conn.execute(inbox.insert(), rows)
