"""Record values as expressions see them: JSON-form dates, datetimes and decimals become Python values.

One converter per field kind, chosen once per field (at compile time for generated functions), each
the identity on a value that already has its Python form, and on null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from metamodel.model import EntityModel

Converter = Callable[[Any], Any]
_SYSTEM_KINDS = {"created_at": "datetime", "updated_at": "datetime"}


def _to_decimal(value: Any) -> Any:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _to_date(value: Any) -> Any:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _to_datetime(value: Any) -> Any:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value


_CONVERTERS: dict[str, Converter] = {
    "decimal": _to_decimal,
    "currency": _to_decimal,
    "date": _to_date,
    "datetime": _to_datetime,
}


def converter(model: EntityModel, name: str) -> Converter | None:
    """Return the converter of field ``name`` of ``model``, or None when its values need none."""
    definition = model.fields.get(name)
    kind = definition.type if definition else _SYSTEM_KINDS.get(name)
    return _CONVERTERS.get(kind or "")


def python_value(model: EntityModel, name: str, value: Any) -> Any:
    """Turn a JSON-form record value (as the runtime returns it) into the value expressions use."""
    convert = converter(model, name)
    return value if convert is None or value is None else convert(value)


class MappingContext:
    """A record's own fields converted as RecordContext converts them, without a database (no links)."""

    __slots__ = ("model", "now", "record")

    def __init__(self, model: EntityModel, record: Mapping[str, Any], now: dt.datetime) -> None:
        self.model = model
        self.record = record
        self.now = now

    def value(self, name: str) -> Any:
        """Return a field of the record as an expression value."""
        return python_value(self.model, name, self.record.get(name))


__all__ = ["Converter", "MappingContext", "converter", "python_value"]
