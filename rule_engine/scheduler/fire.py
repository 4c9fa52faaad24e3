"""Firing one due item exactly once: take it without waiting, claim it in the ledger, re-check, act, commit.

A crash anywhere before the commit leaves nothing behind, so the next tick fires it again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, select

from metamodel.model import SiteModel
from metamodel.records.runtime import RecordRuntime
from rule_engine.engine import RuleEngine
from rule_engine.errorlog import failure_limit, note_success
from rule_engine.evaluation import Expressions, load_record, shared_expressions
from rule_engine.ledger import as_moment, claim, due_key, set_status
from rule_engine.scheduler.claiming import Timeouts, set_timeouts, take
from rule_engine.scheduler.due import DueItem
from rule_engine.tables import state_history
from rule_engine.triggers.firing import FiringFailed, record_failure, run_trigger_actions, trigger_context
from rule_engine.triggers.spec import TriggerSpec, workflow_of

DEFAULT_TIMEOUTS = Timeouts()


class Taken(Exception):
    """Another process claimed the firing first."""


def fire_due(
    db: Engine,
    runtime: RecordRuntime,
    rules: RuleEngine,
    trigger: TriggerSpec,
    item: DueItem,
    now: dt.datetime,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> str:
    """Fire one due item in one transaction; returns done, skipped, late, busy, taken, retry or failed."""
    expressions = shared_expressions(rules.functions)
    try:
        with db.begin() as conn:
            set_timeouts(conn, timeouts)
            if not take(conn, runtime.model, trigger.entity, item.record_id, trigger.name, item.due_key):
                return "busy"
            if trigger.schedule is not None and trigger.schedule.is_late(item.due_at, now):
                late = f"late: due {item.due_key}, found {due_key(now)} (late_policy skip)"
                args = (trigger.name, trigger.entity, item.record_id, item.due_key, now, "skipped", late)
                return "late" if claim(conn, *args) is not None else "taken"
            firing_id = claim(conn, trigger.name, trigger.entity, item.record_id, item.due_key, now)
            if firing_id is None:
                raise Taken
            record = (
                load_record(conn, runtime.model, trigger.entity, item.record_id) if item.record_id else {}
            )
            reason = not_due_reason(conn, runtime.model, trigger, item.due_key, record, now, expressions)
            if reason:
                set_status(conn, firing_id, "skipped", reason)
                return "skipped"
            assert record is not None
            ctx = trigger_context(rules, runtime, conn, trigger, record, now, "time", item.due_key)
            run_trigger_actions(rules, trigger, ctx)
            note_success(conn, trigger.name)
        return "done"
    except Taken:
        return "taken"
    except FiringFailed as failure:
        with db.begin() as conn:
            limit = failure_limit(rules.services)
            return record_failure(conn, trigger, item.record_id, item.due_key, now, failure, limit=limit)


def not_due_reason(
    conn: Connection,
    site: SiteModel,
    trigger: TriggerSpec,
    key: str,
    record: dict[str, Any] | None,
    now: dt.datetime,
    expressions: Expressions,
) -> str | None:
    if not trigger.needs_record:
        return None
    if record is None:
        return "the record no longer exists"
    schedule = trigger.schedule
    if trigger.event == "time" and schedule is not None and schedule.kind == "relative":
        anchor = as_moment(record.get(str(schedule.relative_to)))
        if anchor is None or due_key(anchor + dt.timedelta(seconds=schedule.offset_seconds)) != key:
            return f"{schedule.relative_to} changed since the firing came due"
    elif trigger.event == "time" and schedule is not None and schedule.kind == "in_state":
        workflow = workflow_of(site, trigger.entity)
        entered = conn.execute(
            select(state_history.c.at)
            .where(
                state_history.c.entity == trigger.entity,
                state_history.c.record_id == record["id"],
                state_history.c.is_current.is_(True),
            )
            .order_by(state_history.c.id.desc())
        ).scalar()
        current = record.get(str(workflow["state_field"])) if workflow else None
        if current != schedule.state or entered is None or due_key(entered) != key:
            return f"the record left state {schedule.state}"
    try:
        matches = expressions.holds(site, trigger.entity, trigger.condition, conn, record, now)
    except Exception as exc:
        raise FiringFailed(f"condition failed: {type(exc).__name__}: {exc}", False, "condition") from exc
    return None if matches else "the condition no longer holds"
