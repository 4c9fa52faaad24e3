"""The scheduler's state per time rule: its schedule, next due slot, last run (the watermark of migration
0140), backlog, and failed or retrying firings with the last error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from metamodel.model import SiteModel
from rule_engine.tables import firings, rule_watermarks
from rule_engine.triggers.cron import parse_cron
from rule_engine.triggers.spec import Schedule, TriggerSpec, site_triggers

FAILED = ("failed", "retry")


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat().replace("+00:00", "Z")


def next_due(schedule: Schedule, now: dt.datetime, zone: str = "UTC") -> dt.datetime | None:
    """Return a cron rule's next slot after ``now``; None for record-relative rules (each record has its own)."""
    if schedule.kind != "cron" or not schedule.cron:
        return None
    try:
        found = parse_cron(schedule.cron, schedule.timezone or zone).get_next_fire_time(None, now)
    except ValueError:
        return None
    return found if isinstance(found, dt.datetime) else None


def _schedule(schedule: Schedule, site: SiteModel) -> dict[str, Any]:
    return {
        "kind": schedule.kind,
        "cron": schedule.cron,
        "timezone": schedule.zone_name(site),
        "relative_to": schedule.relative_to,
        "offset_hours": schedule.offset_hours,
        "state": schedule.state,
        "in_state_hours": schedule.in_state_hours,
    }


def scheduler_status(db: Engine, site: SiteModel, now: dt.datetime) -> list[dict[str, Any]]:
    """Return one row per time rule of the published model: schedule, next due, last run, failures."""
    rules: list[TriggerSpec] = [
        t for t in site_triggers(site) if t.event == "time" and t.schedule is not None
    ]
    names = [r.name for r in rules]
    with db.connect() as conn:
        marks = {
            row.rule: row
            for row in conn.execute(select(rule_watermarks).where(rule_watermarks.c.rule.in_(names)))
        }
        counts = conn.execute(
            select(firings.c.rule, firings.c.status, func.count(), func.max(firings.c.fired_at))
            .where(firings.c.rule.in_(names))
            .group_by(firings.c.rule, firings.c.status)
        ).all()
        retries = dict(
            conn.execute(
                select(firings.c.rule, func.min(firings.c.next_attempt_at))
                .where(firings.c.rule.in_(names), firings.c.status == "retry")
                .group_by(firings.c.rule)
            ).all()
        )
        last_failure = {
            row.rule: row
            for row in conn.execute(
                select(
                    firings.c.rule,
                    firings.c.fired_at,
                    firings.c.detail,
                    firings.c.entity,
                    firings.c.record_id,
                )
                .where(firings.c.rule.in_(names), firings.c.status.in_(FAILED))
                .order_by(firings.c.fired_at)
            )
        }
    by_rule: dict[str, dict[str, Any]] = {}
    for rule, status, count, latest in counts:
        entry = by_rule.setdefault(rule, {"counts": {}, "last_fired": None})
        entry["counts"][status] = int(count)
        if latest is not None and (entry["last_fired"] is None or latest > entry["last_fired"]):
            entry["last_fired"] = latest
    rows = []
    for rule in rules:
        assert rule.schedule is not None
        mark = marks.get(rule.name)
        seen = by_rule.get(rule.name, {"counts": {}, "last_fired": None})
        failure = last_failure.get(rule.name)
        rows.append(
            {
                "rule": rule.name,
                "entity": rule.entity,
                "enabled": rule.enabled,
                "schedule": _schedule(rule.schedule, site),
                "next_due": _iso(next_due(rule.schedule, now, site.time_zone.key)) if rule.enabled else None,
                "last_run": _iso(mark.drained_to if mark is not None else None),
                "checked_at": _iso(mark.updated_at if mark is not None else None),
                "backlog": int(mark.backlog) if mark is not None else 0,
                "last_fired": _iso(seen["last_fired"]),
                "fired": seen["counts"].get("done", 0),
                "failures": sum(seen["counts"].get(s, 0) for s in FAILED),
                "next_retry": _iso(retries.get(rule.name)),
                "last_error": (failure.detail or "")[:500] if failure is not None else "",
                "last_error_at": _iso(failure.fired_at) if failure is not None else None,
            }
        )
    return rows
