"""Computing defaults, formulas and roll-ups, and storing them on a record's row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, select

from metamodel.errors import Problem, RecordInvalid
from metamodel.fieldtypes.base import ValueProblem
from metamodel.fieldtypes.numeric import DecimalType, IntegerType
from metamodel.model import EntityModel, SiteModel
from rule_engine.evaluation import Expressions
from rule_engine.expressions import AggregateSpec, EvaluationError, RecordContext
from rule_engine.expressions.operations import local_zone
from rule_engine.fieldrules.spec import ROLLUP_AGGREGATES, Rollup, SiteRules

# Stores the recomputed values (changes) of (entity, record id); gets the record they were computed on.
DerivedWrite = Callable[[str, int, dict[str, Any], dict[str, Any]], None]


class ComputeFailed(Exception):
    """A computed value does not fit its field; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def stored(model: EntityModel, name: str, value: Any) -> Any:
    """Return a computed value as the field stores it: numbers rounded half-up to the field's scale."""
    definition = model.fields[name]
    field_type = model.types[name]
    numeric = isinstance(value, int | Decimal) and not isinstance(value, bool)
    if numeric and isinstance(field_type, IntegerType | DecimalType):
        scale = field_type.scale(definition) if isinstance(field_type, DecimalType) else 0
        value = Decimal(value).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    try:
        return field_type.prepare(definition, value)
    except ValueProblem as exc:
        raise ComputeFailed(Problem(name, f"the computed value {exc.message}", "computed")) from None


class Calculator:
    """Evaluates one entity's rule expressions for a record, inside the caller's transaction."""

    def __init__(
        self, expressions: Expressions, site: SiteModel, entity: str, conn: Connection, now: dt.datetime
    ):
        self.expressions = expressions
        self.site = site
        self.entity = entity
        self.model = site.entity(entity)
        self.conn = conn
        self.now = site.local(now)  # today() is the site's calendar day

    def value(self, text: str, record: Mapping[str, Any]) -> Any:
        """Evaluate ``text`` on ``record``; raises EvaluationError when it cannot be computed."""
        compiled = self.expressions.compile(self.site, self.entity, text)
        with local_zone(self.site.time_zone):
            if compiled.record_only:
                return compiled.evaluate_record(record, self.now)
            context = RecordContext(
                self.conn, self.site, self.entity, record, self.now, self.expressions.functions
            )
            return compiled.evaluate(context)

    def holds(self, text: str | None, record: Mapping[str, Any], otherwise: bool) -> bool:
        """Whether a condition holds; ``otherwise`` when it is absent or cannot be evaluated."""
        if not text:
            return otherwise
        try:
            return self.value(text, record) is True
        except EvaluationError:
            return otherwise

    def formula(self, name: str, text: str, record: Mapping[str, Any]) -> Any:
        """Compute a formula field's stored value; one that fails (1/0, an overflow) is a problem, never a silent empty."""
        try:
            result = self.value(text, record)
        except EvaluationError as exc:
            message = f"could not be computed ({text}): {getattr(exc, 'message', exc)}"
            raise ComputeFailed(Problem(name, message, "formula_failed")) from None
        return stored(self.model, name, result)

    def rollup(self, rollup: Rollup, record: Mapping[str, Any]) -> Any:
        """Compute a roll-up with one SQL aggregate over the source records."""
        if rollup.via_link:
            entity, link = rollup.split()
            source, link_field, parent_field = self.site.entity(entity), link, None
        else:
            child = str(self.model.fields[rollup.source].get("child_entity"))
            source, link_field, parent_field = self.site.entity(child), None, rollup.source
        condition = self.expressions.compile(self.site, source.name, rollup.filter) if rollup.filter else None
        spec = AggregateSpec(
            ROLLUP_AGGREGATES[rollup.kind], source, link_field, parent_field, rollup.field, condition
        )
        context = RecordContext(
            self.conn, self.site, self.entity, record, self.now, self.expressions.functions
        )
        with local_zone(self.site.time_zone):
            value = context.aggregate(spec)
        return stored(self.model, rollup.target, value)


def refresh(
    expressions: Expressions,
    rules: SiteRules,
    site: SiteModel,
    conn: Connection,
    entity: str,
    record_id: int,
    now: dt.datetime,
    write: DerivedWrite | None = None,
    *,
    rollups: bool = True,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Recompute a stored record's roll-ups (unless not ``rollups``) and formulas; write and return the changes.

    ``write`` stores the changes as an update of the record through the record runtime (another
    record's change moved them); without it they are stored on the row as part of the save
    running now (the record's own lines changed).

    The row is locked first so two transactions adding children to one parent cannot both write a
    sum that misses the other's child (each aggregate then reads what the other committed).
    """
    entity_rules = rules.of(entity)
    model = site.entity(entity)
    table = model.table
    row = conn.execute(select(table).where(table.c.id == record_id).with_for_update()).mappings().first()
    if row is None:
        return {}, None
    record = dict(row)
    calc = Calculator(expressions, site, entity, conn, now)
    for rollup in entity_rules.rollups if rollups else ():
        record[rollup.target] = calc.rollup(rollup, record)
    try:
        for name in entity_rules.formula_order:
            record[name] = calc.formula(name, str(entity_rules.fields[name].formula), record)
    except ComputeFailed as exc:
        # A linked record's change broke this record's formula: refuse that change, naming this record.
        problem = Problem(f"{entity}[{record_id}].{exc.problem.path}", exc.problem.message, exc.problem.code)
        raise RecordInvalid(
            f"the change would break {entity} {record_id}: {exc.problem.message}", [problem]
        ) from None
    changes = {name: record[name] for name in entity_rules.derived if not _same(record[name], row[name])}
    if changes and write is not None:
        write(entity, record_id, changes, record)
    elif changes:
        conn.execute(table.update().where(table.c.id == record_id).values(changes))
    return changes, record


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(a == b)
