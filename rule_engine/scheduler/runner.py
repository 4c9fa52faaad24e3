"""Firing due time triggers exactly once, and retrying failed firings whose actions are safe to rerun.

Each firing is one transaction: insert the ledger row (a competitor's insert fails on the unique key and
it moves on), re-load the record, re-check that it is still due and still matches, run the actions,
commit.  A crash anywhere before the commit leaves nothing behind, so the next tick fires it again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from metamodel.model import SiteModel
from metamodel.records.hooks import RecordHooks
from metamodel.records.runtime import RecordRuntime
from rule_engine.actions.base import log_failure
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import Expressions, load_record, shared_expressions
from rule_engine.ledger import (
    MAX_ATTEMPTS,
    as_moment,
    claim,
    due_key,
    failure_status,
    retry_delay,
    set_status,
)
from rule_engine.scheduler.due import DueItem, due_records
from rule_engine.tables import firings, state_history
from rule_engine.triggers.firing import FiringFailed, record_failure, run_trigger_actions, trigger_context
from rule_engine.triggers.spec import TriggerSpec, find_trigger, site_triggers, workflow_of

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What one scheduler pass did, per outcome and per rule."""

    outcomes: Counter[str] = field(default_factory=Counter)
    per_rule: dict[str, Counter[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, rule: str, outcome: str) -> None:
        """Count one outcome (done, skipped, retry, failed, taken, error)."""
        self.outcomes[outcome] += 1
        self.per_rule.setdefault(rule, Counter())[outcome] += 1

    @property
    def fired(self) -> int:
        """Firings whose actions ran and committed."""
        return self.outcomes["done"]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "fired": self.fired,
            "outcomes": dict(self.outcomes),
            "rules": {rule: dict(counts) for rule, counts in self.per_rule.items()},
            "errors": self.errors,
        }


class _Taken(Exception):
    """Another process claimed the firing first."""


def run_due(
    db: Engine,
    site: SiteModel,
    now: dt.datetime,
    rules: RuleEngine,
    hooks: RecordHooks | None = None,
    limit: int = 500,
    max_attempts: int = MAX_ATTEMPTS,
) -> RunReport:
    """Fire every time trigger's due records (up to ``limit`` per rule) and the retries due at ``now``."""
    runtime = RecordRuntime(site, db, hooks or RecordHooks(), clock=lambda: now)
    expressions = shared_expressions(rules.functions)
    report = RunReport()
    for trigger in site_triggers(site):
        if trigger.event != "time":
            continue
        try:
            with db.connect() as conn:
                items = due_records(conn, site, trigger, now, expressions, limit)
        except Exception as exc:
            log.exception("rule %s: finding due records failed", trigger.name)
            report.errors.append(f"{trigger.name}: {type(exc).__name__}: {exc}")
            continue
        for item in items:
            try:
                outcome = fire_due(db, runtime, rules, trigger, item, now)
            except Exception as exc:  # a database error: nothing committed, the next tick tries again
                outcome = _error(report, trigger.name, exc)
            report.count(trigger.name, outcome)
    _retry_pass(db, runtime, rules, now, report, limit, max_attempts)
    return report


def _error(report: RunReport, rule: str, exc: Exception) -> str:
    log.error("rule %s: firing failed with an unexpected error", rule, exc_info=exc)
    report.errors.append(f"{rule}: {type(exc).__name__}: {exc}")
    return "error"


def fire_due(
    db: Engine,
    runtime: RecordRuntime,
    rules: RuleEngine,
    trigger: TriggerSpec,
    item: DueItem,
    now: dt.datetime,
) -> str:
    """Fire one due item in one transaction; returns done, skipped, taken, retry or failed."""
    expressions = shared_expressions(rules.functions)
    try:
        with db.begin() as conn:
            firing_id = claim(conn, trigger.name, trigger.entity, item.record_id, item.due_key, now)
            if firing_id is None:
                raise _Taken
            record = (
                load_record(conn, runtime.model, trigger.entity, item.record_id) if item.record_id else {}
            )
            reason = _not_due_reason(conn, runtime.model, trigger, item.due_key, record, now, expressions)
            if reason:
                set_status(conn, firing_id, "skipped", reason)
                return "skipped"
            assert record is not None
            ctx = trigger_context(rules, runtime, conn, trigger, record, now, "time", item.due_key)
            run_trigger_actions(rules, trigger, ctx)
        return "done"
    except _Taken:
        return "taken"
    except FiringFailed as failure:
        with db.begin() as conn:
            return record_failure(conn, trigger, item.record_id, item.due_key, now, failure)


def _not_due_reason(
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


def _retry_pass(
    db: Engine,
    runtime: RecordRuntime,
    rules: RuleEngine,
    now: dt.datetime,
    report: RunReport,
    limit: int,
    max_attempts: int,
) -> None:
    with db.connect() as conn:
        rows = (
            conn.execute(
                select(firings)
                .where(firings.c.status == "retry", firings.c.next_attempt_at <= now)
                .order_by(firings.c.next_attempt_at, firings.c.id)
                .limit(limit)
            )
            .mappings()
            .all()
        )
    for row in rows:
        try:
            outcome = retry_firing(db, runtime, rules, dict(row), now, max_attempts)
        except Exception as exc:
            outcome = _error(report, str(row["rule"]), exc)
        report.count(str(row["rule"]), outcome)


def retry_firing(
    db: Engine,
    runtime: RecordRuntime,
    rules: RuleEngine,
    row: dict[str, Any],
    now: dt.datetime,
    max_attempts: int,
) -> str:
    """Run a failed firing again if it is still wanted; returns its new status (or taken)."""
    site = runtime.model
    mine = (firings.c.id == row["id"], firings.c.status == "retry", firings.c.attempts == row["attempts"])
    trigger = find_trigger(site, str(row["rule"]))
    try:
        with db.begin() as conn:
            claimed = conn.execute(
                update(firings)
                .where(*mine)
                .values(status="done", attempts=row["attempts"] + 1, fired_at=now, detail="")
            ).rowcount
            if claimed != 1:
                raise _Taken
            if trigger is None or trigger.entity != row["entity"]:
                set_status(conn, row["id"], "skipped", "the rule was removed or disabled")
                return "skipped"
            record = (
                load_record(conn, site, trigger.entity, int(row["record_id"])) if row["record_id"] else {}
            )
            expressions = shared_expressions(rules.functions)
            reason = _not_due_reason(conn, site, trigger, str(row["due_key"]), record, now, expressions)
            if reason:
                set_status(conn, row["id"], "skipped", reason)
                return "skipped"
            assert record is not None
            ctx = trigger_context(
                rules, runtime, conn, trigger, record, now, trigger.event, str(row["due_key"])
            )
            run_trigger_actions(rules, trigger, ctx)
        return "done"
    except _Taken:
        return "taken"
    except FiringFailed as failure:
        attempt = int(row["attempts"]) + 1
        status = failure_status(failure.retry, attempt, max_attempts)
        with db.begin() as conn:
            conn.execute(
                update(firings)
                .where(*mine)
                .values(
                    attempts=attempt,
                    status=status,
                    detail=failure.message[:2000],
                    next_attempt_at=now + retry_delay(attempt) if status == "retry" else None,
                )
            )
            log_failure(
                conn,
                str(row["rule"]),
                failure.action,
                str(row["entity"]),
                row["record_id"] or None,
                failure.message,
                now,
            )
        return status
