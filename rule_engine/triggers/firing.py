"""Running one trigger's actions for one record: the context, the depth guard and failure handling."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from metamodel.records.hooks import Actor
from rule_engine.actions.base import ActionContext, ActionFailed, log_failure, run_actions
from rule_engine.engine import RuleEngine
from rule_engine.errorlog import DEFAULT_LIMIT
from rule_engine.evaluation import shared_expressions
from rule_engine.ledger import claim, failure_status, retry_delay
from rule_engine.triggers.spec import TriggerSpec

log = logging.getLogger(__name__)

# Triggers whose actions write records fire further triggers; this many levels, then they stop.
MAX_DEPTH = 8
_DEPTH_KEY = "crm_trigger_depth"


@dataclass
class TriggerContext(ActionContext):
    """The action context of a trigger firing: adds what fired it and the ledger key."""

    event: str = ""
    due_key: str = ""


class FiringFailed(Exception):
    """An action of a firing failed; ``retry`` says whether running the firing again is safe."""

    def __init__(self, message: str, retry: bool, action: str) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.action = action


def system_actor(now: dt.datetime) -> Actor:
    """Return the actor rule actions write as: the system, at the firing's time."""
    return Actor(user_id=None, username=None, is_admin=True, now=now)


def action_services(rules: RuleEngine) -> dict[str, Any]:
    """Return the services actions see: the start-up services plus the rule engine's registries."""
    return {
        **rules.services,
        "functions": rules.functions,
        "rule_engine": rules,
        "expressions": shared_expressions(rules.functions),
    }


def trigger_context(
    rules: RuleEngine,
    runtime: Any,
    conn: Connection,
    trigger: TriggerSpec,
    record: Mapping[str, Any],
    now: dt.datetime,
    event: str,
    key: str,
) -> TriggerContext:
    """Return the context the actions of one firing run with."""
    return TriggerContext(
        conn=conn,
        runtime=runtime,
        site=runtime.model,
        entity=trigger.entity,
        record=dict(record),
        actor=system_actor(now),
        now=now,
        rule=trigger.name,
        services=action_services(rules),
        event=event,
        due_key=key,
    )


def run_trigger_actions(rules: RuleEngine, trigger: TriggerSpec, ctx: TriggerContext) -> None:
    """Run the trigger's actions in order in ``ctx.conn``; raises FiringFailed on the first failure."""
    for config in trigger.actions:
        kind = str(config.get("type"))
        try:
            with deeper(ctx.conn) as allowed:
                if not allowed:
                    raise FiringFailed(
                        f"stopped: triggers nested more than {MAX_DEPTH} levels deep (a rule loop?)",
                        False,
                        kind,
                    )
                run_actions(rules.actions, [config], ctx)
        except ActionFailed as exc:
            action = rules.actions.get(kind) if kind in rules.actions else None
            retry = exc.retry or bool(getattr(action, "retry_safe", False))
            raise FiringFailed(exc.message, retry, kind) from exc
        except FiringFailed:
            raise
        except Exception as exc:
            log.exception("rule %s: action %s crashed", trigger.name, kind)
            raise FiringFailed(f"action {kind} failed: {type(exc).__name__}: {exc}", False, kind) from exc


def depth(conn: Connection) -> int:
    """Return how many trigger firings are running on ``conn`` right now."""
    return int(conn.info.get(_DEPTH_KEY, 0))


@contextmanager
def deeper(conn: Connection) -> Iterator[bool]:
    """Count one more nesting level while actions run; yields False when the limit is reached."""
    level = depth(conn)
    if level >= MAX_DEPTH:
        yield False
        return
    conn.info[_DEPTH_KEY] = level + 1
    try:
        yield True
    finally:
        conn.info[_DEPTH_KEY] = level


def record_failure(
    conn: Connection,
    trigger: TriggerSpec,
    record_id: int,
    key: str,
    now: dt.datetime,
    failure: FiringFailed,
    retry_allowed: bool = True,
    limit: int = DEFAULT_LIMIT,
) -> str:
    """Write the failed firing to the ledger (to be retried when safe) and the action log."""
    status = failure_status(failure.retry and retry_allowed, 1)
    next_at = now + retry_delay(1) if status == "retry" else None
    claim(conn, trigger.name, trigger.entity, record_id, key, now, status, failure.message, next_at)
    log_failure(
        conn, trigger.name, failure.action, trigger.entity, record_id or None, failure.message, now, limit
    )
    log.warning("rule %s on %s %s: %s (%s)", trigger.name, trigger.entity, record_id, failure.message, status)
    return status
