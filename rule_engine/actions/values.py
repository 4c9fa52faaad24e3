"""Field values in action settings: JSON literals, or ``{"expr": "..."}`` evaluated for the source record."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from metamodel.errors import CrmError
from metamodel.fieldtypes.base import ValueProblem
from metamodel.model import EntityModel
from rule_engine.actions.base import ActionContext, ActionFailed
from rule_engine.evaluation import expressions_of

VALUES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {
        "anyOf": [
            {
                "type": "object",
                "required": ["expr"],
                "additionalProperties": False,
                "properties": {"expr": {"type": "string", "minLength": 1, "maxLength": 2000}},
            },
            {"not": {"type": "object", "required": ["expr"]}},
        ]
    },
}


def is_expression(value: Any) -> bool:
    """Whether a setting value is an expression object."""
    return isinstance(value, Mapping) and isinstance(value.get("expr"), str)


def value_expressions(values: Mapping[str, Any], prefix: str, entity: str) -> Iterator[tuple[str, str, str]]:
    """Yield (settings path, expression text, entity it is evaluated on) of expression values."""
    for name, value in values.items():
        if is_expression(value):
            yield f"{prefix}.{name}", str(value["expr"]), entity


def check_values(values: Mapping[str, Any], target: EntityModel, prefix: str) -> Iterator[tuple[str, str]]:
    """Yield (key, message) for values naming unknown fields or literals the field would refuse."""
    for name, value in values.items():
        key = f"{prefix}.{name}"
        if name == "owner_id":
            if not is_expression(value) and value is not None and not isinstance(value, int):
                yield key, "owner_id must be a user id"
            continue
        definition = target.fields.get(name)
        if definition is None:
            yield key, f"entity '{target.name}' has no field '{name}'"
            continue
        field_type = target.types[name]
        if not field_type.has_column:
            yield key, f"'{name}' is a {definition.type} field and cannot be set by an action"
            continue
        if _derived(definition.doc):
            # A formula or roll-up is recomputed on every save: a value set here would vanish silently.
            yield key, f"'{name}' is computed by its formula or roll-up and cannot be set by an action"
            continue
        if is_expression(value):
            continue
        try:
            field_type.prepare(definition, value)
        except ValueProblem as exc:
            yield key, f"{exc.message}"


def _derived(doc: Mapping[str, Any]) -> bool:
    rules = doc.get("rules")
    return isinstance(rules, Mapping) and bool(rules.get("formula") or rules.get("rollup"))


def resolve_values(values: Mapping[str, Any], ctx: ActionContext) -> dict[str, Any]:
    """Return the values with expressions evaluated on the firing's record."""
    expressions = expressions_of(ctx.services)
    resolved: dict[str, Any] = {}
    for name, value in values.items():
        if not is_expression(value):
            resolved[name] = value
            continue
        try:
            resolved[name] = expressions.evaluate(
                ctx.site, ctx.entity, str(value["expr"]), ctx.conn, ctx.record, ctx.now
            )
        except Exception as exc:
            raise ActionFailed(f"value of {name}: {getattr(exc, 'message', None) or exc}") from exc
    return resolved


def source_id(ctx: ActionContext) -> int:
    """Return the id of the record that fired the action; ActionFailed when there is none."""
    record_id = ctx.record.get("id")
    if record_id is None:
        raise ActionFailed("this action needs a record, and the firing has none")
    return int(record_id)


@contextmanager
def reasons() -> Iterator[None]:
    """Turn a record runtime error into ActionFailed whose message names each problem."""
    try:
        yield
    except CrmError as exc:
        details = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in exc.problems)
        raise ActionFailed(f"{exc.message}" + (f" ({details})" if details else "")) from exc
