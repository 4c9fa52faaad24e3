"""The trigger rule component: publish-time checks and the record hooks that fire event triggers."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from metamodel.definitions import Bundle
from metamodel.errors import Problem
from metamodel.model import SiteModel
from metamodel.records.hooks import DeleteEvent, RecordHooks, SaveEvent, are_triggers_skipped
from rule_engine.engine import RuleEngine
from rule_engine.errorlog import disabled_rules
from rule_engine.evaluation import load_record
from rule_engine.scheduler.pool_return import check_pool_conditions
from rule_engine.triggers.checks import check_trigger
from rule_engine.triggers.events import event_key, fields_changed, fire_event
from rule_engine.triggers.spec import TriggerSpec, triggers_for

log = logging.getLogger(__name__)


class TriggerComponent:
    """Event and time triggers; time triggers are run by the scheduler, event triggers by these hooks."""

    name = "triggers"

    def __init__(self) -> None:
        self.rules: RuleEngine | None = None

    def check(self, bundle: Bundle, site: SiteModel, engine: RuleEngine) -> Iterable[Problem]:
        """Yield problems of every trigger document in ``bundle``."""
        docs = bundle.docs("trigger")
        for name in sorted(docs):
            yield from check_trigger(docs[name], site, engine, f"trigger.{name}")
        yield from check_pool_conditions(site, engine.functions)

    def install(self, hooks: RecordHooks, engine: RuleEngine) -> None:
        """Register the save and delete hooks, and listen to workflow transitions when workflows exist."""
        self.rules = engine
        hooks.after_save.append(self.after_save)
        hooks.after_delete.append(self.after_delete)
        for component in engine.components:
            listeners = getattr(component, "on_transition", None)
            if isinstance(listeners, list):
                listeners.append(self.after_transition)

    def _now(self, actor_now: dt.datetime | None) -> dt.datetime:
        assert self.rules is not None, "TriggerComponent.install was not called"
        return actor_now or self.rules.clock()

    def after_save(self, event: SaveEvent) -> None:
        """Fire the create or update triggers of the saved record."""
        if event.runtime is None or event.record_id is None or self.rules is None:
            return
        if are_triggers_skipped(event.conn):
            return
        site = event.runtime.model
        specs = live(event.conn, triggers_for(site, event.entity.name, event.action))
        if not specs:
            return
        record = load_record(event.conn, site, event.entity.name, event.record_id)
        if record is None:
            return
        now = self._now(event.actor.now)
        key = event_key(event.action, record)
        for spec in specs:
            if spec.changed_fields and not fields_changed(event.before, record, spec.changed_fields):
                continue
            fire_event(self.rules, event.runtime, event.conn, spec, record, now, key)

    def after_delete(self, event: DeleteEvent) -> None:
        """Fire the delete triggers with the record as it was."""
        if event.runtime is None or self.rules is None or are_triggers_skipped(event.conn):
            return
        specs = live(event.conn, triggers_for(event.runtime.model, event.entity.name, "delete"))
        now = self._now(event.actor.now)
        record = {k: v for k, v in event.record.items() if not k.startswith("_")}
        for spec in specs:
            fire_event(self.rules, event.runtime, event.conn, spec, record, now, "delete")

    def after_transition(self, event: Any) -> None:
        """Fire the transition triggers of a record that just changed state (a workflow listener)."""
        runtime = getattr(event, "runtime", None)
        if runtime is None or self.rules is None:
            return
        target = getattr(event, "entity", "")
        entity = target if isinstance(target, str) else str(target.name)
        transition = str(getattr(event, "transition", ""))
        specs = live(
            event.conn,
            [
                s
                for s in triggers_for(runtime.model, entity, "transition")
                if not s.transition or s.transition == transition
            ],
        )
        if not specs:
            return
        record = load_record(event.conn, runtime.model, entity, int(event.record_id))
        if record is None:
            return
        now = self._now(getattr(event, "now", None))
        detail = f"{transition}:{getattr(event, 'history_id', None) or record.get('lock_version')}"
        for spec in specs:
            fire_event(
                self.rules, runtime, event.conn, spec, record, now, event_key("transition", record, detail)
            )


def live(conn: Connection, specs: list[TriggerSpec]) -> list[TriggerSpec]:
    """Return the triggers not switched off after repeated failures (one query, only when there are any)."""
    if not specs:
        return specs
    off = disabled_rules(conn, [spec.name for spec in specs])
    return [spec for spec in specs if spec.name not in off] if off else specs
