"""Measures of a report: an aggregate function over a field, or over the duration between two date fields.

A duration measure ("mean time to repair") aggregates ``field - since`` in minutes, hours or days, computed
by the database: ``julianday`` differences on SQLite (datetimes are stored as naive UTC text, dates as
``YYYY-MM-DD``), ``extract(epoch ...)`` of the interval on PostgreSQL (date differences are whole days).
A record where either date is empty has no duration and is left out, as SQL aggregates leave out NULLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from metamodel.fieldtypes.base import FieldTypeRegistry, ValueProblem
from metamodel.model import EntityModel

SYSTEM_DATES = ("created_at", "updated_at")
DURATION_UNITS = {"minutes": 1440, "hours": 24, "days": 1}  # per day
DURATION_FUNCTIONS = ("sum", "avg", "min", "max")


@dataclass(frozen=True)
class Measure:
    """An aggregate function over a field (``count`` counts records and takes none).

    With ``since``, the function aggregates the duration from the ``since`` date to ``field`` in ``unit``
    (avg of completed_at since reported_at in hours: the mean time to repair).
    """

    function: str
    field: str | None = None
    since: str | None = None
    unit: str = "hours"

    @property
    def key(self) -> str:
        """The column name of this measure in the result."""
        if self.field is None:
            return self.function
        if self.since:
            return f"{self.function}__{self.field}__since__{self.since}"
        return f"{self.function}__{self.field}"


def duration_measure(model: EntityModel, registry: FieldTypeRegistry, raw: Mapping[str, Any]) -> Measure:
    """Return the duration measure of ``raw`` (function, field, since, unit); ValueProblem when it does not fit."""
    function, end, start = raw.get("function"), raw.get("field"), raw.get("since")
    if function not in DURATION_FUNCTIONS:
        raise ValueProblem(f"a duration takes one of {', '.join(DURATION_FUNCTIONS)}", "function")
    if not isinstance(start, str) or not isinstance(end, str) or start == end:
        raise ValueProblem("a duration runs from one date field (since) to another (field)", "since")
    unit = raw.get("unit", "hours")
    if unit not in DURATION_UNITS:
        raise ValueProblem(f"unit must be one of {', '.join(DURATION_UNITS)}", "unit")
    if _date_kind(model, registry, start) != _date_kind(model, registry, end):
        raise ValueProblem(f"'{start}' and '{end}' must both be dates or both date-times", "since")
    return Measure(str(function), end, start, str(unit))


def _date_kind(model: EntityModel, registry: FieldTypeRegistry, name: str) -> str:
    if name in SYSTEM_DATES and name in model.table.c:
        return "datetime"
    definition = model.fields.get(name)
    if definition is None or name not in model.table.c:
        raise ValueProblem(f"entity '{model.name}' has no field '{name}'", "unknown_field")
    if name in model.seals:
        raise ValueProblem(f"'{name}' is encrypted and cannot be aggregated", "encrypted")
    if not registry.of(definition).temporal:
        raise ValueProblem(f"'{name}' ({definition.type}) is not a date: a duration needs two", "function")
    return str(definition.type)


def duration_column(model: EntityModel, measure: Measure, dialect: str) -> ColumnElement[Any]:
    """Return the SQL of one record's duration ``field - since`` in the measure's unit, as a float."""
    table = model.table
    start, end = table.c[str(measure.since)], table.c[str(measure.field)]
    per_day = float(DURATION_UNITS[measure.unit])
    is_datetime = measure.field in SYSTEM_DATES or model.fields[str(measure.field)].type == "datetime"
    if dialect == "postgresql":
        if is_datetime:
            # Seconds divided once (not days times 24) keeps whole hours whole.
            return cast(func.extract("epoch", end - start), Float) / literal(86_400.0 / per_day)
        return cast(end - start, Float) * literal(per_day)  # date - date is a whole number of days
    return cast((func.julianday(end) - func.julianday(start)) * literal(per_day), Float)


def aggregate_duration(model: EntityModel, measure: Measure, dialect: str) -> ColumnElement[Any]:
    """Return the measure's aggregate of the durations (avg, sum, min or max) as SQL."""
    return getattr(func, measure.function)(duration_column(model, measure, dialect))  # type: ignore[no-any-return]


def duration_value(measure: Measure, value: Any) -> float | None:
    """Return a duration aggregate read from the database as a float in the measure's unit.

    SQLite's ``julianday`` differences carry rounding noise of some microseconds (6.5 hours reads as
    6.4999999925); a value within 0.1 ms of a whole millisecond is taken as that millisecond.
    """
    if value is None:
        return None
    seconds_per_unit = 86_400.0 / DURATION_UNITS[measure.unit]
    seconds = float(value) * seconds_per_unit
    whole = round(seconds, 3)
    return whole / seconds_per_unit if abs(seconds - whole) < 1e-4 else float(value)
