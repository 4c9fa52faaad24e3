"""Multi-field uniqueness: the entity's unique indexes, reported as a problem before the database refuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from metamodel.crypto.records import equals
from metamodel.errors import Problem
from metamodel.fieldtypes.base import ValueProblem
from metamodel.model import EntityModel


def _column_value(model: EntityModel, name: str, record: Mapping[str, Any]) -> Any:
    value = record.get(name)
    definition = model.fields.get(name)
    if definition is None or value is None:
        return value
    try:
        # ``record`` mixes stored (JSON) values read before the change with prepared new ones.
        return model.types[name].prepare(definition, value)
    except ValueProblem:
        return value


def unique_problems(
    conn: Connection,
    model: EntityModel,
    field_sets: tuple[tuple[str, ...], ...],
    record: Mapping[str, Any],
    record_id: int | None,
) -> list[Problem]:
    """Return one problem per unique field set whose values another record already has.

    The unique index stays the last word: two writers racing past this check still get a Conflict.
    """
    problems: list[Problem] = []
    table = model.table
    for names in field_sets:
        values = [_column_value(model, name, record) for name in names]
        if any(v is None for v in values):
            continue  # unique indexes treat empty values as distinct, on SQLite and PostgreSQL alike
        clash = select(table.c.id).where(*(equals(model, n, v) for n, v in zip(names, values, strict=True)))
        if record_id is not None:
            clash = clash.where(table.c.id != record_id)
        other = conn.execute(clash.limit(1)).scalar()
        if other is not None:
            joined = ", ".join(names)
            problems.append(
                Problem(
                    "",
                    f"the combination of {joined} must be unique; {model.name} {other} already has these values",
                    "unique",
                )
            )
    return problems
