"""The field-rule component: publish-time checks and the record hooks applying field rules on every write.

On a save, before it is written: computed fields sent by the client are ignored (clients may send back
what they read), defaults fill empty fields of a new record, formulas are computed, read-only fields
that a user changed are refused, (judged on the record as stored), then required-if,
visibility, validations and multi-field uniqueness are checked on the record as it will be saved.  After it is written: child-table lines get their formulas and
checks, the record's roll-ups (and formulas reading them) are recomputed with SQL aggregates, and so
are the roll-ups of the records it (or its lines) link to, and the formulas of the records reading its
changed fields through their links (``member.tier``, see ``linkreads``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from metamodel.definitions import Bundle
from metamodel.errors import Problem, RecordInvalid
from metamodel.model import SiteModel
from metamodel.records.hooks import DeleteEvent, RecordHooks, SaveEvent
from metamodel.records.pipeline import DERIVE
from metamodel.records.values import serialize_row
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import Expressions, shared_expressions
from rule_engine.expressions import EvaluationError
from rule_engine.fieldrules.checks import check_site_rules
from rule_engine.fieldrules.compute import Calculator, ComputeFailed, DerivedWrite, stored
from rule_engine.fieldrules.conditions import check_conditions, readonly
from rule_engine.fieldrules.hidden import drop_hidden
from rule_engine.fieldrules.linkreads import refresh_link_readers
from rule_engine.fieldrules.recompute import (
    RecomputeFields,
    derived_writer,
    refresh_and_check,
    refresh_parents,
)
from rule_engine.fieldrules.spec import EntityRules, SiteRules, site_rules
from rule_engine.fieldrules.unique import unique_problems


class FieldRuleComponent:
    """Defaults, formulas, roll-ups, conditional fields, validations and multi-field uniqueness."""

    name = "field_rules"

    def __init__(self) -> None:
        self.rules: RuleEngine | None = None

    def check(self, bundle: Bundle, site: SiteModel, engine: RuleEngine) -> Iterable[Problem]:
        """Yield problems of every entity's field and entity rules."""
        _register_action(engine)
        yield from check_site_rules(site, engine)

    def install(self, hooks: RecordHooks, engine: RuleEngine) -> None:
        """Register the save and delete hooks and the ``recompute_fields`` action."""
        self.rules = engine
        _register_action(engine)
        hooks.before_save.append(self.before_save)
        hooks.after_save.append(self.after_save)
        hooks.after_delete.append(self.after_delete)

    # --- helpers ------------------------------------------------------------------------------
    def _context(self, site: SiteModel) -> tuple[Expressions, SiteRules]:
        assert self.rules is not None, "FieldRuleComponent.install was not called"
        expressions = shared_expressions(self.rules.functions)
        return expressions, site_rules(site, expressions)

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        assert self.rules is not None
        return now or self.rules.clock()

    # --- before the write ---------------------------------------------------------------------
    def before_save(self, event: SaveEvent) -> None:
        """Apply defaults and formulas, then check conditional fields, validations and uniqueness."""
        if event.runtime is None or self.rules is None:
            return
        if event.operation == DERIVE:
            return  # recomputed values, already checked by the refresh storing them
        site = event.runtime.model
        expressions, rules = self._context(site)
        entity = rules.of(event.entity.name)
        if entity.empty:
            return
        model = event.entity
        calc = Calculator(expressions, site, model.name, event.conn, self._now(event.actor.now))
        values = event.values
        creating = event.action == "create"
        # owner_id is a system column without a field type: it is always kept as sent.
        sent = {
            k: v
            for k, v in values.items()
            if not (creating and k in model.types and model.types[k].is_empty(v))
        }
        for name in entity.derived:
            values.pop(name, None)  # computed, never entered: a sent value is ignored like record_no
        if event.actor.user_id is not None:
            drop_hidden(calc, entity, values, sent, event.before)
        record: dict[str, Any] = {**(event.before or {}), **values}
        try:
            if creating:
                self._defaults(calc, entity, values, record)
            for name in entity.formula_order:
                values[name] = record[name] = calc.formula(name, str(entity.fields[name].formula), record)
        except ComputeFailed as exc:
            event.problems.problems.append(exc.problem)
            return
        problems = event.problems.problems
        if event.actor.user_id is not None:
            problems += self._readonly(calc, entity, sent, event.before)
        problems += check_conditions(calc, entity, record)
        if entity.unique_sets:
            problems += unique_problems(event.conn, model, entity.unique_sets, record, event.record_id)

    def _defaults(
        self, calc: Calculator, entity: EntityRules, values: dict[str, Any], record: dict[str, Any]
    ) -> None:
        model = calc.model
        for name, rule in entity.fields.items():
            if rule.default and model.types[name].is_empty(values.get(name)):
                try:
                    values[name] = record[name] = stored(model, name, calc.value(rule.default, record))
                except EvaluationError:
                    pass  # a default that cannot be computed leaves the field empty
        for rollup in entity.rollups:
            # Nothing links to a new record yet; its lines are counted after they are written.
            empty = 0 if rollup.kind in ("sum", "count") else None
            values[rollup.target] = record[rollup.target] = stored(model, rollup.target, empty)

    def _readonly(
        self, calc: Calculator, entity: EntityRules, sent: dict[str, Any], before: dict[str, Any] | None
    ) -> list[Problem]:
        # readonly_if is judged on the record as it was before this write (a new record: its fixed
        # defaults), so closing a ticket may still set its resolution, and reopening it is a change
        # of its own.  Sending a read-only field back unchanged is fine; system writes (triggers,
        # the scheduler) are not bound by it.
        model = calc.model
        if before is None:
            before = {
                f.name: model.types[f.name].serialize(f, model.types[f.name].prepare(f, f.get("default")))
                for f in model.column_fields()
            }
        problems = []
        for name, rule in entity.fields.items():
            if not rule.readonly_if or name not in sent or not readonly(calc, entity, name, before):
                continue
            new = model.types[name].serialize(model.fields[name], sent[name])
            if new != before.get(name):
                problems.append(Problem(name, "is read-only", "readonly"))
        return problems

    # --- after the write ----------------------------------------------------------------------
    def after_save(self, event: SaveEvent) -> None:
        """Apply line rules, recompute roll-ups and formulas reading them, and refresh linked parents."""
        if event.runtime is None or self.rules is None or event.record_id is None:
            return
        site = event.runtime.model
        expressions, rules = self._context(site)
        name = event.entity.name
        now = self._now(event.actor.now)
        entity = rules.of(name)
        write = derived_writer(event.runtime, event.actor, event.conn)
        derived = event.operation == DERIVE  # the values were just computed; no line changed
        if not event.entity.entity.is_child and not derived:
            self._lines(expressions, rules, site, event, now)
            self._line_parents(expressions, rules, site, event, now, write)
        own: dict[str, Any] = {}
        if not derived and (entity.rollups or self._reads_aggregates(expressions, site, entity)):
            own, _ = refresh_and_check(expressions, rules, site, event.conn, name, event.record_id, now)
        if rules.watchers.get(name):
            links = [event.before or {}, {**(event.before or {}), **event.values}]
            changed = changed_fields(event)
            if changed is not None:
                changed |= set(own)  # its own roll-ups over its lines, just recomputed
            refresh_parents(expressions, rules, site, event.conn, name, links, now, write, changed)
        if rules.link_readers.get(name) and event.before is not None:
            # Nothing links to a new record yet; an update moves the formulas reading it through links.
            moved = (changed_fields(event) or set()) | set(own)
            refresh_link_readers(
                expressions, rules, site, event.conn, name, event.record_id, moved, now, write
            )

    def _line_parents(
        self,
        expressions: Expressions,
        rules: SiteRules,
        site: SiteModel,
        event: SaveEvent,
        now: dt.datetime,
        write: DerivedWrite,
    ) -> None:
        # Lines have no save hooks of their own, so roll-ups of other records over them (a spare
        # part's used quantity summed over work-order part lines) are refreshed here, for the link
        # values the lines had before this save and have now, whenever the lines changed.
        assert event.record_id is not None
        for child_field in event.entity.child_fields():
            child = site.entity(str(child_field.get("child_entity")))
            if not rules.watchers.get(child.name):
                continue
            table = child.table
            rows = event.conn.execute(
                select(table).where(
                    table.c.parent_id == event.record_id, table.c.parent_field == child_field.name
                )
            ).mappings()
            after = {int(row["id"]): serialize_row(child, row) for row in rows}
            before = {
                int(line["id"]): {k: v for k, v in line.items() if not k.startswith("_")}
                for line in (event.before or {}).get(child_field.name) or []
            }
            if before != after:
                links = [*before.values(), *after.values()]
                refresh_parents(expressions, rules, site, event.conn, child.name, links, now, write)

    def after_delete(self, event: DeleteEvent) -> None:
        """Refresh the roll-ups of the records the deleted record linked to."""
        if event.runtime is None or self.rules is None:
            return
        site = event.runtime.model
        expressions, rules = self._context(site)
        if rules.watchers.get(event.entity.name):
            now = self._now(event.actor.now)
            write = derived_writer(event.runtime, event.actor, event.conn)
            refresh_parents(
                expressions, rules, site, event.conn, event.entity.name, [event.record], now, write
            )

    def _reads_aggregates(self, expressions: Expressions, site: SiteModel, entity: EntityRules) -> bool:
        return any(
            expressions.compile(site, entity.name, str(entity.fields[name].formula)).aggregates
            for name in entity.formula_order
        )

    def _lines(
        self, expressions: Expressions, rules: SiteRules, site: SiteModel, event: SaveEvent, now: dt.datetime
    ) -> None:
        # Lines are written by the parent's save without hooks of their own, so their rules run here.
        problems: list[Problem] = []
        for child_field in event.entity.child_fields():
            child = site.entity(str(child_field.get("child_entity")))
            entity = rules.of(child.name)
            if not entity.fields and not entity.validations:
                continue
            table = child.table
            rows = event.conn.execute(
                select(table)
                .where(table.c.parent_id == event.record_id, table.c.parent_field == child_field.name)
                .order_by(table.c.line_no, table.c.id)
            ).mappings()
            calc = Calculator(expressions, site, child.name, event.conn, now)
            for index, row in enumerate(list(rows)):
                prefix = f"{child_field.name}[{index}]."
                record = dict(row)
                try:
                    if row["lock_version"] == 1:  # written by this save: every later save bumps it
                        self._defaults(calc, entity, record, record)
                    for name in entity.formula_order:
                        record[name] = calc.formula(name, str(entity.fields[name].formula), record)
                except ComputeFailed as exc:
                    problems.append(Problem(prefix + exc.problem.path, exc.problem.message, exc.problem.code))
                    continue
                for problem in check_conditions(calc, entity, record):
                    path = prefix + problem.path if problem.path else prefix[:-1]
                    problems.append(Problem(path, problem.message, problem.code))
                changes = {k: record[k] for k in record if k in child.fields and record[k] != row[k]}
                if changes:
                    event.conn.execute(table.update().where(table.c.id == row["id"]).values(changes))
        if problems:
            raise RecordInvalid(f"the {event.entity.name} record is not valid", problems)


def changed_fields(event: SaveEvent) -> set[str] | None:
    """Return the fields an update changed (None for a create: every field is new)."""
    if event.before is None:
        return None
    model = event.entity
    changed = set()
    for name, value in event.values.items():
        definition = model.fields.get(name)
        shown = model.types[name].serialize(definition, value) if definition is not None else value
        if shown != event.before.get(name):
            changed.add(name)
    return changed


def _register_action(engine: RuleEngine) -> None:
    if RecomputeFields.type not in engine.actions:
        engine.actions.register(RecomputeFields)
