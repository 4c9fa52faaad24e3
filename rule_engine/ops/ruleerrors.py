"""The rule-error log for admins: failures per rule and record, newest first, and the rules switched off."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from metamodel.errors import NotFound
from rule_engine.errorlog import enable_rule
from rule_engine.tables import rule_errors, rule_health

MAX_PAGE = 200


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat().replace("+00:00", "Z")


def list_rule_errors(
    db: Engine, *, rule: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Return a page of logged failures (latest first, optionally of one rule) and the rules switched off."""
    query = select(rule_errors)
    if rule:
        query = query.where(rule_errors.c.rule == rule)
    with db.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(
            query.order_by(rule_errors.c.last_at.desc(), rule_errors.c.id.desc())
            .limit(max(1, min(limit, MAX_PAGE)))
            .offset(max(0, offset))
        ).mappings()
        items = [
            {
                "rule": row["rule"],
                "entity": row["entity"],
                "record_id": int(row["record_id"]) or None,
                "action": row["action"],
                "message": row["message"],
                "count": int(row["count"]),
                "first_at": _iso(row["first_at"]),
                "last_at": _iso(row["last_at"]),
            }
            for row in rows
        ]
    return {"items": items, "total": int(total), "switched_off": switched_off(db)}


def switched_off(db: Engine) -> list[dict[str, Any]]:
    """Return the rules switched off after repeated failures: when, why and after how many."""
    with db.connect() as conn:
        rows = conn.execute(
            select(rule_health).where(rule_health.c.disabled_at.is_not(None)).order_by(rule_health.c.rule)
        ).mappings()
        return [
            {
                "rule": row["rule"],
                "disabled_at": _iso(row["disabled_at"]),
                "reason": row["disabled_reason"],
                "failures": int(row["consecutive"]),
            }
            for row in rows
        ]


def switch_on(db: Engine, rule: str) -> dict[str, Any]:
    """Switch a rule back on (its failure count starts again at zero); NotFound unless it was off."""
    with db.begin() as conn:
        if not enable_rule(conn, rule):
            raise NotFound(f"rule {rule} is not switched off")
    return {"rule": rule, "enabled": True}
