"""Date and datetime field types."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date
from sqlalchemy.types import TypeEngine

from metamodel.coltypes import UTCDateTime
from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import COMPARISON_OPERATORS, FieldType, ValueProblem


class DateType(FieldType):
    """A calendar date (YYYY-MM-DD)."""

    type = "date"
    groupable = True
    temporal = True
    measures = ("min", "max", "count_distinct")
    widget = "date"
    operators = COMPARISON_OPERATORS

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return Date()

    def column_signature(self, field: FieldDef) -> str:
        return "date"

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        if not isinstance(raw, str) or len(raw) > 40:
            raise ValueProblem("must be a date like 2026-01-31", "type")
        text = raw.strip()
        try:
            return (
                dt.date.fromisoformat(text[:10])
                if len(text) > 10 and "T" in text
                else dt.date.fromisoformat(text)
            )
        except ValueError:
            raise ValueProblem("must be a date like 2026-01-31", "type") from None

    def serialize(self, field: FieldDef, value: Any) -> Any:
        return None if value is None else value.isoformat()

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


class DateTimeType(FieldType):
    """A moment in time; stored in UTC, input without an offset is taken as UTC."""

    type = "datetime"
    groupable = True
    temporal = True
    measures = ("min", "max", "count_distinct")
    widget = "datetime"
    operators = COMPARISON_OPERATORS

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return UTCDateTime()

    def column_signature(self, field: FieldDef) -> str:
        return "datetime"

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        if isinstance(raw, dt.datetime):
            value = raw
        elif isinstance(raw, dt.date):
            value = dt.datetime(raw.year, raw.month, raw.day)
        elif isinstance(raw, str) and len(raw) <= 40:
            text = raw.strip().replace("Z", "+00:00")
            try:
                value = dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueProblem("must be a date and time like 2026-01-31T09:30:00+08:00", "type") from None
        else:
            raise ValueProblem("must be a date and time like 2026-01-31T09:30:00+08:00", "type")
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def serialize(self, field: FieldDef, value: Any) -> Any:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}
