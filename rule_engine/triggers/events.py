"""Event triggers: fire on create, update (optionally only when given fields change), delete, transition.

A firing runs inside the transaction of the write that caused it, in a savepoint of its own: its ledger
row and all its actions commit with the write or not at all.  When an action fails, the savepoint is
rolled back, the write still commits, and the ledger records the failure ('retry' when running the
actions again is safe: the scheduler retries it with backoff; otherwise 'failed').
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from metamodel.records.batch import protected
from rule_engine.actions.base import log_failure
from rule_engine.engine import RuleEngine
from rule_engine.errorlog import failure_limit, note_success
from rule_engine.evaluation import shared_expressions
from rule_engine.ledger import claim
from rule_engine.triggers.firing import (
    MAX_DEPTH,
    FiringFailed,
    depth,
    record_failure,
    run_trigger_actions,
    trigger_context,
)
from rule_engine.triggers.spec import TriggerSpec

log = logging.getLogger(__name__)


def fields_changed(before: Mapping[str, Any] | None, after: Mapping[str, Any], names: Sequence[str]) -> bool:
    """Whether any of ``names`` differs between the stored record before and after a write."""
    if before is None:
        return True
    return any(before.get(name) != after.get(name) for name in names)


def event_key(event: str, record: Mapping[str, Any], detail: str = "") -> str:
    """Return the ledger key of an event firing: one per create, per saved version, per transition."""
    if event == "update":
        return f"update:{record.get('lock_version')}"
    if event == "transition":
        return f"transition:{detail}"
    return event


def fire_event(
    rules: RuleEngine,
    runtime: Any,
    conn: Connection,
    trigger: TriggerSpec,
    record: Mapping[str, Any],
    now: dt.datetime,
    key: str,
) -> str:
    """Fire one event trigger for one record if its condition holds; returns the outcome."""
    record_id = int(record["id"])
    site = runtime.model
    limit = failure_limit(rules.services)
    try:
        # A savepoint, so a condition whose query fails cannot abort the write's transaction.
        with protected(conn):
            matches = shared_expressions(rules.functions).holds(
                site, trigger.entity, trigger.condition, conn, record, now
            )
        if not matches:
            return "no_match"
    except Exception as exc:
        message = f"condition failed: {type(exc).__name__}: {exc}"
        log_failure(conn, trigger.name, "condition", trigger.entity, record_id, message, now, limit)
        log.warning("rule %s on %s %s: %s", trigger.name, trigger.entity, record_id, message)
        return "failed"
    if depth(conn) >= MAX_DEPTH:
        message = f"stopped: triggers nested more than {MAX_DEPTH} levels deep (a rule loop?)"
        log.error("rule %s on %s %s: %s", trigger.name, trigger.entity, record_id, message)
        log_failure(conn, trigger.name, "trigger", trigger.entity, record_id, message, now, limit)
        return "depth_limit"
    ctx = trigger_context(rules, runtime, conn, trigger, record, now, trigger.event, key)
    try:
        with protected(conn):
            if claim(conn, trigger.name, trigger.entity, record_id, key, now) is None:
                return "taken"
            run_trigger_actions(rules, trigger, ctx)
    except FiringFailed as failure:
        # A deleted record cannot be re-read, so delete firings are never retried.
        return record_failure(conn, trigger, record_id, key, now, failure, trigger.event != "delete", limit)
    note_success(conn, trigger.name)
    return "done"
