"""Computed fields that read the clock (a count over the last 30 days, days since the last visit) as time passes.

They stay stored, not computed at read: lists filter and sort on them, reports sum them, and update
triggers watch them ("the 30-day order count fell below 3").  The scheduler's periodic job
``clock_fields`` (every 15 minutes) finds the records whose stored value is no longer the value now,
with one set-based query per entity comparing each column with its roll-up's correlated subquery (or
the formula's SQL form; row by row in Python where there is none), and writes just those through the
record runtime (``write_derived``): ``lock_version``, audit, update triggers with ``changed_fields``,
then the roll-ups and link-reading formulas of other records in turn.

A field reading only ``today()`` can change only when the site's calendar day changes, so it is
checked once per local day (a day claim in the firing ledger, taken when a run got through all of
them); fields reading ``now()`` (or ``days_since``, ``hours_since``...) are checked every run.
Exactly once with several schedulers: the job's period is claimed in the same transaction as its
writes.  A run stops after its time budget; what is left is found again by the next one, since the
comparison is with the current value, so a backlog needs no bookkeeping.  A record whose new value
breaks one of its rules is left as it was and logged in the rule-error log (rule ``clock_fields``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from metamodel.errors import CrmError
from metamodel.model import EntityModel, SiteModel
from metamodel.records.hooks import Actor, RecordHooks
from metamodel.records.runtime import RecordRuntime
from rule_engine.errorlog import note_failure
from rule_engine.evaluation import Expressions, shared_expressions
from rule_engine.expressions.ast import Binary, Call, Node, Unary
from rule_engine.expressions.compiler import CompiledExpression
from rule_engine.fieldrules.backfill import field_sql
from rule_engine.fieldrules.compute import Calculator, ComputeFailed
from rule_engine.fieldrules.recompute import derived_writer, refresh_and_check
from rule_engine.fieldrules.spec import SiteRules, site_rules
from rule_engine.ledger import claim
from rule_engine.tables import firings

log = logging.getLogger(__name__)
RULE = "clock_fields"
BATCH = 1000


@dataclass(frozen=True)
class ClockFields:
    """The computed fields of one entity reading the clock: ``daily`` only ``today()``, ``live`` more."""

    entity: str
    daily: tuple[str, ...]
    live: tuple[str, ...]


def clock_functions(compiled: CompiledExpression, registry: Any) -> set[str]:
    """Return the clock-reading functions an expression (or an aggregate condition in it) calls."""
    found: set[str] = set()

    def visit(node: Node) -> None:
        if isinstance(node, Call):
            function = registry.get(node.name)
            if function is not None and function.needs_now:
                found.add(node.name)
            for arg in node.args:
                visit(arg)
        elif isinstance(node, Binary):
            visit(node.left)
            visit(node.right)
        elif isinstance(node, Unary):
            visit(node.operand)

    visit(compiled.node)
    for spec in compiled.aggregates:
        if spec.condition is not None:
            found |= clock_functions(spec.condition, registry)
    return found


def clock_fields(site: SiteModel, rules: SiteRules, expressions: Expressions) -> list[ClockFields]:
    """Return, per entity with records of its own, the roll-ups and formulas reading the clock."""
    found = []
    for name, model in sorted(site.entities.items()):
        if model.entity.is_child:
            continue  # lines are recomputed by their parent's save
        entity_rules = rules.of(name)
        daily: list[str] = []
        live: list[str] = []
        for field_name, rule in entity_rules.fields.items():
            if rule.rollup is not None and rule.rollup.filter:
                source = _rollup_source(site, model, rule.rollup.source)
                compiled = expressions.compile(site, source, rule.rollup.filter)
            elif rule.formula:
                compiled = expressions.compile(site, name, rule.formula)
            else:
                continue
            functions = clock_functions(compiled, expressions.functions)
            if functions:
                (daily if functions == {"today"} else live).append(field_name)
        if daily or live:
            found.append(ClockFields(name, tuple(daily), tuple(live)))
    return found


def _rollup_source(site: SiteModel, model: EntityModel, source: str) -> str:
    if "." in source:
        return source.partition(".")[0]
    return str(model.fields[source].get("child_entity"))


class ClockFieldsJob:
    """A periodic job of the scheduler: bring clock-reading roll-ups and formulas up to date."""

    name = RULE

    def __init__(
        self,
        site: Callable[[], SiteModel],
        db: Engine,
        hooks: RecordHooks,
        functions: Any,
        every: dt.timedelta = dt.timedelta(minutes=15),
        budget: float = 20.0,
    ) -> None:
        self.site = site
        self.db = db
        self.hooks = hooks
        self.functions = functions
        self.every = every
        self.budget = budget

    def run(self, conn: Connection, now: dt.datetime) -> dict[str, Any]:
        """Write the records whose clock-reading values moved; returns {entity: records written}."""
        site = self.site()
        expressions = shared_expressions(self.functions)
        rules = site_rules(site, expressions)
        day = site.local(now).date().isoformat()
        new_day = not _day_done(conn, day)
        runtime = RecordRuntime(site, self.db, self.hooks, clock=lambda: now)
        actor = Actor(user_id=None, username=None, is_admin=True, now=now, origin="scheduler")
        sweep = _Sweep(conn, site, rules, expressions, now, time.monotonic() + self.budget)
        sweep.write = derived_writer(runtime, actor, conn)
        report: dict[str, Any] = {}
        for fields in clock_fields(site, rules, expressions):
            names = fields.live + (fields.daily if new_day else ())
            if names:
                written = sweep.entity(fields.entity, names)
                if written:
                    report[fields.entity] = written
        if sweep.out_of_time:
            report["unfinished"] = True  # the next run goes on where this one stopped
        elif new_day:
            claim(conn, f"job:{RULE}:day", "-", 0, day, now, detail="today() fields checked")
        return report


def _day_done(conn: Connection, day: str) -> bool:
    taken = select(firings.c.id).where(
        firings.c.rule == f"job:{RULE}:day", firings.c.record_id == 0, firings.c.due_key == day
    )
    return conn.execute(taken).first() is not None


class _Sweep:
    """One run's pass over the entities: candidates found set-based, written one by one."""

    def __init__(
        self,
        conn: Connection,
        site: SiteModel,
        rules: SiteRules,
        expressions: Expressions,
        now: dt.datetime,
        deadline: float,
    ) -> None:
        self.conn, self.site, self.rules, self.expressions = conn, site, rules, expressions
        self.now, self.deadline = now, deadline
        self.write: Any = None
        self.out_of_time = False

    def entity(self, entity: str, names: tuple[str, ...]) -> int:
        """Write the records of ``entity`` whose ``names`` moved; returns how many were written."""
        model = self.site.entity(entity)
        table = model.table
        dialect = self.conn.dialect.name
        values = {
            n: field_sql(self.site, self.rules, self.expressions, model, n, self.now, dialect) for n in names
        }
        in_sql = [table.c[n].is_distinct_from(v) for n, v in values.items() if v is not None]
        in_python = [n for n, v in values.items() if v is None]
        moved = or_(*in_sql) if in_sql else None
        written, last = 0, 0
        while not self.out_of_time:
            query = select(table).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
            if not in_python and moved is not None:
                query = query.where(moved)
            elif moved is not None:
                query = query.add_columns(moved.label("_moved"))
            rows = [dict(r) for r in self.conn.execute(query).mappings()]
            if not rows:
                break
            last = int(rows[-1]["id"])
            if in_python:
                rows = [r for r in rows if r.pop("_moved", False) or self._moved(model, r, in_python)]
            for row in rows:
                written += self._refresh(entity, int(row["id"]))
                if time.monotonic() >= self.deadline:
                    self.out_of_time = True
                    break
        return written

    def _moved(self, model: EntityModel, row: dict[str, Any], names: list[str]) -> bool:
        # Fields without an SQL form, computed in Python; the rest of the row's fields is not read.
        calc = Calculator(self.expressions, self.site, model.name, self.conn, self.now)
        entity_rules = self.rules.of(model.name)
        for name in names:
            rule = entity_rules.fields[name]
            try:
                if rule.rollup is not None:
                    value = calc.rollup(rule.rollup, row)
                else:
                    value = calc.formula(name, str(rule.formula), row)
            except ComputeFailed:
                return True  # the refresh reports it
            if value != row[name]:
                return True
        return False

    def _refresh(self, entity: str, record_id: int) -> int:
        try:
            with self.conn.begin_nested():
                changes, _ = refresh_and_check(
                    self.expressions,
                    self.rules,
                    self.site,
                    self.conn,
                    entity,
                    record_id,
                    self.now,
                    label=f"{entity} {record_id}",
                    write=self.write,
                )
        except CrmError as exc:
            problems = getattr(exc, "problems", None) or []
            message = "; ".join([exc.message, *(p.message for p in problems)])
            log.warning("clock fields of %s %s not written: %s", entity, record_id, message)
            note_failure(self.conn, RULE, entity, record_id, "recompute", message, self.now, limit=0)
            return 0
        return 1 if changes else 0
