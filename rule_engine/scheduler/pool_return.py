"""The periodic job that returns records without follow-up to their entity's lead pool and tells their former owners."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from metamodel.errors import Problem
from metamodel.model import SiteModel
from metamodel.pool.config import pool_config
from metamodel.pool.sweep import return_stale
from rule_engine.evaluation import shared_expressions
from rule_engine.expressions.types import BOOLEAN, compatible
from rule_engine.tables import inbox
from rule_engine.triggers.checks import expression_problem

RULE = "pool.auto_return"


def check_pool_conditions(site: SiteModel, functions: Any) -> list[Problem]:
    """Return problems of every pool's ``return_unless``: it must compile, be boolean and have an SQL form."""
    problems: list[Problem] = []
    expressions = shared_expressions(functions)
    for model in site.entities.values():
        config = pool_config(model.entity)
        if config is None or not config.return_unless:
            continue
        path = f"entity.{model.name}.pool.return_unless"
        try:
            compiled = expressions.compile(site, model.name, config.return_unless)
        except Exception as exc:
            problems.append(expression_problem(exc, path))
            continue
        if not compatible(compiled.result_type, BOOLEAN):
            problems.append(
                Problem(path, f"must be true or false, not a {compiled.result_type}", "expression")
            )
        elif expressions.to_sql(site, model.name, config.return_unless, dt.datetime.now(dt.UTC)) is None:
            problems.append(Problem(path, "must be a condition the database can evaluate", "expression"))
    return problems


class PoolReturnJob:
    """Every ``every``, return stale records of every entity with ``pool.return_after_days`` (a periodic job)."""

    name = "pool_return"

    def __init__(
        self,
        site: Callable[[], SiteModel],
        every: dt.timedelta = dt.timedelta(minutes=10),
        functions: Any = None,
    ) -> None:
        self.site = site
        self.every = every
        self.functions = functions  # the rule engine's function registry, for ``return_unless``

    def run(self, conn: Connection, now: dt.datetime) -> dict[str, int]:
        """Return stale records entity by entity; one inbox message per former owner and entity."""
        report: dict[str, int] = {}
        site = self.site()
        for model in site.entities.values():
            config = pool_config(model.entity)
            if config is None or not config.return_after_days:
                continue
            keep = None
            if config.return_unless:
                # Publishing made sure it has an SQL form; None here would mean "return nothing".
                keep = shared_expressions(self.functions).to_sql(site, model.name, config.return_unless, now)
                if keep is None:
                    continue
            returned = return_stale(conn, model, now, keep=keep, zone=site.time_zone)
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
