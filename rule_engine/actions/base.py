"""The action contract, its registry, and running a list of actions inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import Connection

from metamodel.errors import CrmError
from metamodel.model import SiteModel
from metamodel.records.batch import defer_insert, flush_deferred, protected
from metamodel.records.hooks import Actor
from rule_engine.errorlog import DEFAULT_LIMIT, note_failure
from rule_engine.tables import action_log

log = logging.getLogger(__name__)
_LOG_INSERT = action_log.insert()  # one prepared statement; an import batch inserts its rows together


class ActionFailed(Exception):
    """An action could not run; ``retry`` says whether running it again later is safe."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


@dataclass
class ActionContext:
    """What an action sees: the record that fired it, the runtime and connection to write with."""

    conn: Connection
    runtime: Any  # metamodel.records.runtime.RecordRuntime bound to the same metadata version
    site: SiteModel
    entity: str
    record: dict[str, Any]
    actor: Actor
    now: dt.datetime
    rule: str
    services: Mapping[str, Any] = field(default_factory=dict)  # notifier, mailer, ... set at start-up


class Action:
    """Base class of action types; subclasses set ``type`` and implement ``run``."""

    type: ClassVar[str]
    # JSON Schema of the action's settings (besides "type"), checked when metadata is published.
    schema: ClassVar[dict[str, Any]] = {"type": "object"}
    # Whether a failed run may be retried later without doing anything twice.
    retry_safe: ClassVar[bool] = False

    def check(self, config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
        """Yield (key, message) for settings that cannot work with this metadata."""
        return ()

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        """Do the action; return a short description for the action log."""
        raise NotImplementedError


class ActionRegistry:
    """Registered action types by name; filled once at start-up (plugins add theirs)."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(self, action: type[Action]) -> None:
        """Register an action class under its ``type`` name."""
        if action.type in self._actions:
            raise ValueError(f"action type {action.type!r} is already registered")
        self._actions[action.type] = action()

    def get(self, name: str) -> Action:
        """Return the action type called ``name``; KeyError when unknown."""
        return self._actions[name]

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def names(self) -> list[str]:
        """Return registered action names."""
        return list(self._actions)


def run_actions(registry: ActionRegistry, configs: Iterable[Mapping[str, Any]], ctx: ActionContext) -> None:
    """Run actions in order inside ``ctx.conn``'s transaction, logging each; a failure aborts them all."""
    for config in configs:
        action = registry.get(str(config["type"]))
        try:
            with protected(ctx.conn):
                detail = action.run(config, ctx)
        except (ActionFailed, CrmError) as exc:
            message = getattr(exc, "message", str(exc))
            log.warning(
                "rule %s: action %s failed on %s %s: %s",
                ctx.rule,
                action.type,
                ctx.entity,
                ctx.record.get("id"),
                message,
            )
            raise ActionFailed(
                f"action {action.type} failed: {message}", getattr(exc, "retry", False)
            ) from exc
        _log(ctx, action.type, "ok", detail)


def _log(ctx: ActionContext, action: str, status: str, message: str) -> None:
    row = {
        "rule": ctx.rule,
        "action": action,
        "entity": ctx.entity,
        "record_id": ctx.record.get("id"),
        "status": status,
        "message": message[:2000],
        "at": ctx.now,
    }
    defer_insert(ctx.conn, _LOG_INSERT, row)


def log_failure(
    conn: Connection,
    rule: str,
    action: str,
    entity: str,
    record_id: int | None,
    message: str,
    now: dt.datetime,
    limit: int = DEFAULT_LIMIT,
) -> None:
    """Record a failed firing in the action log and the rule-error log (in a transaction of its own choosing).

    ``limit``: after this many consecutive failures the rule is switched off and admins are told.
    """
    flush_deferred(conn)  # the log's rows keep the order of events
    conn.execute(
        action_log.insert().values(
            rule=rule,
            action=action,
            entity=entity,
            record_id=record_id,
            status="failed",
            message=message[:2000],
            at=now,
        )
    )
    note_failure(conn, rule, entity, record_id, action, message, now, limit)
