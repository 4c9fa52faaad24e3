"""One scheduler pass: drain every time rule's due firings, round-robin in batches, within a time budget.

Each rule is scanned from its watermark (see ``watermark``), so an outage or a back-dated record never
loses a firing.  Rules take turns, one batch each, until all are drained or the budget is spent; a rule
left with a backlog keeps its watermark and goes on next tick.  Each firing is its own transaction
(``fire.fire_due``), so exactly-once holds however many schedulers run and wherever one crashes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine

from metamodel.model import SiteModel
from metamodel.records.hooks import RecordHooks
from metamodel.records.runtime import RecordRuntime
from rule_engine.engine import RuleEngine
from rule_engine.errorlog import disabled_rules, failure_limit, note_failure
from rule_engine.evaluation import Expressions, shared_expressions
from rule_engine.ledger import MAX_ATTEMPTS
from rule_engine.scheduler.claiming import Timeouts
from rule_engine.scheduler.due import DueItem, DueWindow, due_records, scan_errors
from rule_engine.scheduler.fire import DEFAULT_TIMEOUTS, fire_due
from rule_engine.scheduler.report import RunReport, count_error
from rule_engine.scheduler.retries import retry_firing, retry_pass
from rule_engine.scheduler.watermark import mark, window_for
from rule_engine.triggers.spec import TriggerSpec, site_triggers

__all__ = ["RunReport", "fire_due", "retry_firing", "run_due"]

log = logging.getLogger(__name__)
# Outcomes that leave the firing unresolved (no committed ledger row): the rule is not drained.
_UNRESOLVED = frozenset({"busy", "error"})


@dataclass
class _RulePass:
    """One rule's progress in this pass."""

    trigger: TriggerSpec
    window: DueWindow
    seen: set[tuple[int, str]] = field(default_factory=set)
    unresolved: int = 0
    failed_scan: list[tuple[int, str]] = field(default_factory=list)


def run_due(
    db: Engine,
    site: SiteModel,
    now: dt.datetime,
    rules: RuleEngine,
    hooks: RecordHooks | None = None,
    limit: int = 500,
    max_attempts: int = MAX_ATTEMPTS,
    budget: float | None = None,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> RunReport:
    """Fire the due firings of every time rule and the retries due at ``now``.

    Without ``budget`` each rule gets one batch of ``limit``; with it, batches go on round-robin until
    every rule is drained or ``budget`` seconds have passed.
    """
    runtime = RecordRuntime(site, db, hooks or RecordHooks(), clock=lambda: now)
    expressions = shared_expressions(rules.functions)
    report = RunReport()
    deadline = time.monotonic() + budget if budget is not None else None
    passes = _open_passes(db, site, now, report)
    limit_failures = failure_limit(rules.services)
    while passes:
        for rule_pass in list(passes):
            drained = _one_batch(db, runtime, rules, rule_pass, now, expressions, limit, report, timeouts)
            if rule_pass.failed_scan:
                _note(db, rule_pass, now, limit_failures, report)
            if drained is not None:
                passes.remove(rule_pass)
                _mark(db, rule_pass, now, drained)
            if deadline is not None and time.monotonic() >= deadline:
                break
        if deadline is None or time.monotonic() >= deadline:
            for rule_pass in passes:
                _mark(db, rule_pass, now, False)
            break
    retry_pass(db, runtime, rules, now, report, limit, max_attempts, timeouts)
    return report


def _open_passes(db: Engine, site: SiteModel, now: dt.datetime, report: RunReport) -> list[_RulePass]:
    passes: list[_RulePass] = []
    timed = [t for t in site_triggers(site) if t.event == "time" and t.schedule is not None]
    with db.connect() as conn:
        off = disabled_rules(conn, [t.name for t in timed])  # switched off after repeated failures
    for trigger in timed:
        if trigger.name in off:
            continue
        try:
            with db.begin() as conn:
                passes.append(_RulePass(trigger, window_for(conn, trigger, now)))
        except Exception as exc:
            log.exception("rule %s: reading its watermark failed", trigger.name)
            report.errors.append(f"{trigger.name}: {type(exc).__name__}: {exc}")
    return passes


def _one_batch(
    db: Engine,
    runtime: RecordRuntime,
    rules: RuleEngine,
    rule_pass: _RulePass,
    now: dt.datetime,
    expressions: Expressions,
    limit: int,
    report: RunReport,
    timeouts: Timeouts,
) -> bool | None:
    """Fire one batch of a rule; returns True/False when its pass is over (drained or not), else None."""
    trigger = rule_pass.trigger
    wanted = limit + rule_pass.unresolved  # unresolved items of earlier batches come back: see past them
    try:
        with db.connect() as conn:
            found = due_records(conn, runtime.model, trigger, now, expressions, wanted, rule_pass.window)
            rule_pass.failed_scan += scan_errors(conn)
    except Exception as exc:
        log.exception("rule %s: finding due records failed", trigger.name)
        report.errors.append(f"{trigger.name}: {type(exc).__name__}: {exc}")
        rule_pass.failed_scan.append((0, f"finding due records failed: {type(exc).__name__}: {exc}"))
        return False
    fresh = [item for item in found if (item.record_id, item.due_key) not in rule_pass.seen]
    if not fresh:
        return not found  # only firings held by others (or failing) are left: drained when none
    unresolved = 0
    for item in fresh:
        rule_pass.seen.add((item.record_id, item.due_key))
        outcome = _fire(db, runtime, rules, trigger, item, now, report, timeouts)
        unresolved += outcome in _UNRESOLVED
        report.count(trigger.name, outcome)
    rule_pass.unresolved += unresolved
    if len(found) < wanted and len(fresh) == len(found) and unresolved == 0:
        return True  # the query returned everything left, and all of it is now in the ledger
    return None


def _fire(
    db: Engine,
    runtime: RecordRuntime,
    rules: RuleEngine,
    trigger: TriggerSpec,
    item: DueItem,
    now: dt.datetime,
    report: RunReport,
    timeouts: Timeouts,
) -> str:
    try:
        return fire_due(db, runtime, rules, trigger, item, now, timeouts)
    except Exception as exc:  # a database error: nothing committed, the next tick tries again
        return count_error(report, trigger.name, exc)


def _mark(db: Engine, rule_pass: _RulePass, now: dt.datetime, drained: bool) -> None:
    try:
        mark(db, rule_pass.trigger.name, now, drained, rule_pass.unresolved)
    except Exception:  # the watermark only narrows later scans; failing to move it loses nothing
        log.exception("rule %s: moving its watermark failed", rule_pass.trigger.name)


def _note(db: Engine, rule_pass: _RulePass, now: dt.datetime, limit: int, report: RunReport) -> None:
    # Errors met while scanning go to the rule-error log; enough of them switch the rule off, so a
    # condition that raises on every tick stops failing forever.
    trigger, found = rule_pass.trigger, rule_pass.failed_scan
    rule_pass.failed_scan = []
    try:
        with db.begin() as conn:
            for record_id, message in found:
                if note_failure(
                    conn, trigger.name, trigger.entity, record_id, "condition", message, now, limit
                ):
                    break
    except Exception as exc:
        log.exception("rule %s: logging its errors failed", trigger.name)
        report.errors.append(f"{trigger.name}: {type(exc).__name__}: {exc}")
