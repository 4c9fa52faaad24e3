"""Which fields of a form are visible, required and read-only now: the same compiled rules the save checks.

The generated form asks this (through the page layer) as the user types, so the browser never carries
an interpreter of its own; the save re-checks everything in ``conditions.check_conditions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from metamodel.fieldtypes.base import ValueProblem
from metamodel.model import EntityModel, SiteModel
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import shared_expressions
from rule_engine.fieldrules.compute import Calculator
from rule_engine.fieldrules.conditions import readonly, visible
from rule_engine.fieldrules.spec import site_rules


@dataclass(frozen=True)
class FieldState:
    """One conditional field's state for the values on the form."""

    visible: bool
    required: bool
    readonly: bool

    def as_dict(self) -> dict[str, bool]:
        """Return the JSON form sent to the page."""
        return {"visible": self.visible, "required": self.required, "readonly": self.readonly}


def prepared(model: EntityModel, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return form or JSON values as the field types store them; what does not parse (yet) counts as empty."""
    record: dict[str, Any] = {}
    for name, raw in values.items():
        definition = model.fields.get(name)
        if definition is None or definition.type == "child_table":
            continue
        try:
            record[name] = model.types[name].prepare(definition, raw)
        except (ValueProblem, TypeError, ValueError):
            record[name] = None
    return record


def form_states(
    rules_engine: RuleEngine,
    site: SiteModel,
    entity: str,
    values: Mapping[str, Any],
    stored: Mapping[str, Any] | None,
    conn: Connection,
) -> dict[str, FieldState]:
    """Return the state of every field with a visible_if, required_if or readonly_if rule.

    ``values`` are the form's values (raw input); ``stored`` the record as saved (None for a new one):
    read-only is judged on it, as the save does, so typing never unlocks a field.
    """
    model = site.entity(entity)
    expressions = shared_expressions(rules_engine.functions)
    rules = site_rules(site, expressions).of(entity)
    calc = Calculator(expressions, site, entity, conn, rules_engine.clock())
    before = prepared(model, stored) if stored is not None else _fixed_defaults(model)
    record = {**before, **prepared(model, values)}
    if stored is not None and "id" in stored:
        record["id"] = before["id"] = stored["id"]
    states: dict[str, FieldState] = {}
    for name, rule in rules.fields.items():
        if not (rule.visible_if or rule.required_if or rule.readonly_if):
            continue
        shown = visible(calc, rules, name, record)
        required = shown and calc.holds(rule.required_if, record, False)
        states[name] = FieldState(shown, required, readonly(calc, rules, name, before))
    return states


def _fixed_defaults(model: EntityModel) -> dict[str, Any]:
    return prepared(
        model, {f.name: f.get("default") for f in model.column_fields() if f.get("default") is not None}
    )


__all__ = ["FieldState", "form_states", "prepared"]
