"""Numeric field types: integer, decimal and currency (exact, never floats)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from sqlalchemy import BigInteger, false
from sqlalchemy.types import TypeEngine

from metamodel.coltypes import ExactDecimal
from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import (
    COMPARISON_OPERATORS,
    Clause,
    DefinitionContext,
    FieldType,
    ValueProblem,
)

_INT_LIMIT = 2**63 - 1
_RANGE_PROPS = {"min": {"type": "number"}, "max": {"type": "number"}}


def _to_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise ValueProblem("must be a number", "type")
    if isinstance(raw, float):
        raw = repr(raw)
    if isinstance(raw, str):
        raw = raw.strip().replace(",", "")
        if len(raw) > 60:
            raise ValueProblem("is too long to be a number", "type")
    try:
        value = Decimal(raw)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueProblem("must be a number", "type") from None
    if not value.is_finite():
        raise ValueProblem("must be a finite number", "type")
    return value


def _bounds(field: FieldDef, limit: int) -> tuple[int, int]:
    """Return the whole-number range a field's min/max (and the type's limit) allow."""
    low, high = field.get("min"), field.get("max")
    lowest = max(-limit, math.ceil(_to_decimal(low))) if low is not None else -limit
    highest = min(limit, math.floor(_to_decimal(high))) if high is not None else limit
    return lowest, highest


class _RangeChecked(FieldType):
    operators = COMPARISON_OPERATORS
    widget = "number"

    def check_range(self, field: FieldDef, value: Decimal | int) -> None:
        """Raise ValueProblem when outside the field's min/max."""
        low, high = field.get("min"), field.get("max")
        if low is not None and value < _to_decimal(low):
            raise ValueProblem(f"must be at least {low}", "min")
        if high is not None and value > _to_decimal(high):
            raise ValueProblem(f"must be at most {high}", "max")

    def search_clause(self, field: FieldDef, column: Any, text: str) -> Clause:
        """Match the number the search text spells (SQLite stores decimals scaled, so text would not do)."""
        try:
            value = self.prepare(field, text)
        except ValueProblem:
            return false()
        return false() if value is None else column == value

    def check_definition(self, field: FieldDef, ctx: DefinitionContext) -> Iterable[tuple[str, str]]:
        low, high = field.get("min"), field.get("max")
        if low is not None and high is not None and low > high:
            yield "min", "min is greater than max"
        yield from super().check_definition(field, ctx)


class IntegerType(_RangeChecked):
    """Whole numbers (64-bit)."""

    type = "integer"
    measures = ("sum", "avg", "min", "max", "count_distinct")
    definition_properties: ClassVar[dict[str, Any]] = _RANGE_PROPS

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return BigInteger()

    def column_signature(self, field: FieldDef) -> str:
        return "bigint"

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            return None
        value = _to_decimal(raw)
        if value != value.to_integral_value():
            raise ValueProblem("must be a whole number", "type")
        number = int(value)
        if abs(number) > _INT_LIMIT:
            raise ValueProblem("is too large", "max")
        self.check_range(field, number)
        return number

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        if output:
            return {"type": "integer"}
        low, high = _bounds(field, _INT_LIMIT)
        return {"type": "integer", "minimum": low, "maximum": high}


class DecimalType(_RangeChecked):
    """Exact decimal numbers with a fixed number of decimal places (``scale``)."""

    type = "decimal"
    measures = ("sum", "avg", "min", "max", "count_distinct")
    default_scale = 2
    definition_properties: ClassVar[dict[str, Any]] = {
        **_RANGE_PROPS,
        "scale": {"type": "integer", "minimum": 0, "maximum": 8},
    }

    def scale(self, field: FieldDef) -> int:
        """Return the number of decimal places."""
        return int(field.get("scale", self.default_scale))

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return ExactDecimal(scale=self.scale(field))

    def column_signature(self, field: FieldDef) -> str:
        return f"decimal:{self.scale(field)}"

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            return None
        value = _to_decimal(raw)
        scale = self.scale(field)
        if abs(value) >= Decimal(10) ** (17 - scale):
            raise ValueProblem("is too large", "max")
        quantum = Decimal(1).scaleb(-scale)
        if value != value.quantize(quantum):
            raise ValueProblem(f"must have at most {scale} decimal places", "scale")
        value = value.quantize(quantum)
        self.check_range(field, value)
        return value

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        # Strings keep decimals exact; a client may also send a JSON number.
        scale = self.scale(field)
        if output:
            return {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
        if field.get("min") is None and field.get("max") is None:
            fraction = rf"(\.[0-9]{{1,{scale}}})?" if scale else ""
            return {"type": "string", "pattern": rf"^-?[0-9]{{1,{17 - scale}}}{fraction}$"}
        # A bounded amount is described by its whole values, which a pattern could not bound.
        low, high = _bounds(field, 10 ** (17 - scale) - 1)
        return {"type": "integer", "minimum": low, "maximum": high}

    def serialize(self, field: FieldDef, value: Any) -> Any:
        # Strings keep decimals exact in JSON.
        return None if value is None else str(value)


class CurrencyType(DecimalType):
    """A money amount: an exact decimal with a currency code."""

    type = "currency"
    widget = "currency"
    definition_properties: ClassVar[dict[str, Any]] = {
        **DecimalType.definition_properties,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    }
