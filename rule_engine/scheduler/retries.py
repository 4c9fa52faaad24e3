"""Retrying failed firings whose actions are safe to rerun, with a growing delay between attempts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select, update

from metamodel.records.runtime import RecordRuntime
from rule_engine.actions.base import log_failure
from rule_engine.engine import RuleEngine
from rule_engine.errorlog import disabled_rules, failure_limit
from rule_engine.evaluation import load_record, shared_expressions
from rule_engine.ledger import failure_status, retry_delay, set_status
from rule_engine.scheduler.claiming import Timeouts, set_timeouts
from rule_engine.scheduler.fire import DEFAULT_TIMEOUTS, Taken, not_due_reason
from rule_engine.scheduler.report import RunReport, count_error
from rule_engine.tables import firings
from rule_engine.triggers.firing import FiringFailed, run_trigger_actions, trigger_context
from rule_engine.triggers.spec import find_trigger


def retry_pass(
    db: Engine,
    runtime: RecordRuntime,
    rules: RuleEngine,
    now: dt.datetime,
    report: RunReport,
    limit: int,
    max_attempts: int,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> None:
    """Run again the failed firings whose retry is due at ``now`` (up to ``limit``)."""
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
            outcome = retry_firing(db, runtime, rules, dict(row), now, max_attempts, timeouts)
        except Exception as exc:
            outcome = count_error(report, str(row["rule"]), exc)
        report.count(str(row["rule"]), outcome)


def retry_firing(
    db: Engine,
    runtime: RecordRuntime,
    rules: RuleEngine,
    row: dict[str, Any],
    now: dt.datetime,
    max_attempts: int,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> str:
    """Run a failed firing again if it is still wanted; returns its new status (or taken)."""
    site = runtime.model
    mine = (firings.c.id == row["id"], firings.c.status == "retry", firings.c.attempts == row["attempts"])
    trigger = find_trigger(site, str(row["rule"]))
    try:
        with db.begin() as conn:
            set_timeouts(conn, timeouts)
            claimed = conn.execute(
                update(firings)
                .where(*mine)
                .values(status="done", attempts=row["attempts"] + 1, fired_at=now, detail="")
            ).rowcount
            if claimed != 1:
                raise Taken
            if trigger is not None and disabled_rules(conn, [trigger.name]):
                raise Taken  # switched off: the firing waits, untouched, until an admin switches it on
            if trigger is None or trigger.entity != row["entity"]:
                set_status(conn, row["id"], "skipped", "the rule was removed or disabled")
                return "skipped"
            record = (
                load_record(conn, site, trigger.entity, int(row["record_id"])) if row["record_id"] else {}
            )
            expressions = shared_expressions(rules.functions)
            reason = not_due_reason(conn, site, trigger, str(row["due_key"]), record, now, expressions)
            if reason:
                set_status(conn, row["id"], "skipped", reason)
                return "skipped"
            assert record is not None
            ctx = trigger_context(
                rules, runtime, conn, trigger, record, now, trigger.event, str(row["due_key"])
            )
            run_trigger_actions(rules, trigger, ctx)
        return "done"
    except Taken:
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
                failure_limit(rules.services),
            )
        return status
