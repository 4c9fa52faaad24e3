"""Conditional visibility, required and read-only, and validation rules, checked on a record about to be saved."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from metamodel.errors import Problem
from rule_engine.fieldrules.compute import Calculator
from rule_engine.fieldrules.spec import EntityRules, Validation

# The language of validation messages; the web layer sets it per request (rule_engine knows no Flask).
message_locale: ContextVar[str] = ContextVar("message_locale", default="en")


@contextmanager
def messages_in(locale: str) -> Iterator[None]:
    """Report validation messages in ``locale`` inside the block."""
    token = message_locale.set(locale)
    try:
        yield
    finally:
        message_locale.reset(token)


def _reads(calc: Calculator, text: str | None, changed: set[str] | None) -> bool:
    if changed is None:
        return True
    if not text:
        return False
    used = calc.expressions.compile(calc.site, calc.entity, text).fields_used
    return bool({u.split(".")[0] for u in used} & changed)


def visible(calc: Calculator, rules: EntityRules, name: str, record: Mapping[str, Any]) -> bool:
    """Whether a field is shown for ``record``; a condition that cannot be evaluated shows it."""
    rule = rules.fields.get(name)
    return calc.holds(rule.visible_if if rule else None, record, True)


def readonly(calc: Calculator, rules: EntityRules, name: str, record: Mapping[str, Any]) -> bool:
    """Whether users may not change a field of ``record`` (computed fields never; readonly_if when it holds)."""
    rule = rules.fields.get(name)
    if rule is None:
        return False
    if rule.formula or rule.rollup:
        return True
    return calc.holds(rule.readonly_if, record, False)


def check_conditions(
    calc: Calculator, rules: EntityRules, record: Mapping[str, Any], changed: set[str] | None = None
) -> list[Problem]:
    """Return required-if and validation problems of ``record``; ``changed`` limits them to rules reading those fields."""
    problems: list[Problem] = []
    locale = message_locale.get()
    model = calc.model
    for name, rule in rules.fields.items():
        if not (rule.required_if or rule.validations):
            continue
        shown = visible(calc, rules, name, record)
        if not shown:
            continue  # a hidden field is neither required nor validated; its value is kept as it is
        empty = model.types[name].is_empty(record.get(name))
        if (
            rule.required_if
            and empty
            and (
                changed is None
                or _reads(calc, rule.required_if, changed)
                or _reads(calc, rule.visible_if, changed)
            )
        ):
            if calc.holds(rule.required_if, record, False):
                problems.append(Problem(name, "is required", "required"))
        if empty:
            continue  # field validations judge values; emptiness is required's business
        for validation in rule.validations:
            if _reads(calc, validation.condition, changed) or (changed is not None and name in changed):
                problems += _validate(calc, validation, record, locale, name)
    for validation in rules.validations:
        if _reads(calc, validation.condition, changed):
            problems += _validate(calc, validation, record, locale, validation.field or "")
    return problems


def _validate(
    calc: Calculator, validation: Validation, record: Mapping[str, Any], locale: str, path: str
) -> list[Problem]:
    # A condition that cannot be evaluated (say 1/0) does not hold: a rule must never pass by accident.
    if calc.holds(validation.condition, record, False):
        return []
    return [Problem(path, validation.text(locale), "validation")]
