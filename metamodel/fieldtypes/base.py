"""The field-type contract and its registry.

A field type owns everything that differs between kinds of field: the column it needs, how input is
checked and converted, how values are written to JSON, which filter operators it offers, which form
widget shows it, and how values survive when a field is re-typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from metamodel.definitions import FieldDef

if TYPE_CHECKING:
    from metamodel.definitions import Bundle, EntityDef


class ValueProblem(ValueError):
    """A value given for a field is not acceptable; the message is shown to the user."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class DefinitionContext:
    """What a field type may look at when checking a field definition."""

    bundle: Bundle
    entity: EntityDef


Clause = ColumnElement[bool]
OperatorBuilder = Callable[[Any, Any], Clause]

# Operators shared by types; each type lists the ones it supports.
COMPARISON_OPERATORS: tuple[str, ...] = ("eq", "ne", "lt", "lte", "gt", "gte", "between", "in", "isnull")
TEXT_OPERATORS: tuple[str, ...] = ("eq", "ne", "contains", "startswith", "in", "isnull")
EQUALITY_OPERATORS: tuple[str, ...] = ("eq", "ne", "in", "isnull")


def _between(column: Any, values: Any) -> Clause:
    low, high = values
    return and_(column >= low, column <= high)


_GENERIC_BUILDERS: dict[str, OperatorBuilder] = {
    "eq": lambda column, value: column == value,
    "ne": lambda column, value: or_(column != value, column.is_(None)),
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "between": _between,
    "in": lambda column, values: column.in_(values),
    "isnull": lambda column, flag: column.is_(None) if flag else column.is_not(None),
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class FieldType:
    """Base class of field types; subclasses set ``type`` and override what differs."""

    type: ClassVar[str]
    widget: ClassVar[str] = "text"
    has_column: ClassVar[bool] = True
    sortable: ClassVar[bool] = True
    operators: ClassVar[tuple[str, ...]] = EQUALITY_OPERATORS
    # JSON Schema properties for the keys this type adds to a field definition.
    definition_properties: ClassVar[Mapping[str, Any]] = {}
    # Reports: whether values can be a group-by dimension (dates through buckets), and which
    # aggregate functions apply beyond count (which counts records and needs no field).
    groupable: ClassVar[bool] = False
    temporal: ClassVar[bool] = False
    measures: ClassVar[tuple[str, ...]] = ("count_distinct",)

    # --- storage -----------------------------------------------------------------------------
    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        """Return the SQLAlchemy column type."""
        raise NotImplementedError

    def column_signature(self, field: FieldDef) -> str:
        """Return a string that changes whenever the physical column must change."""
        return type(self.column_type(field)).__name__

    def foreign_key(self, field: FieldDef) -> tuple[str, str] | None:
        """Return (target entity name, ON DELETE action) when the column references a record."""
        return None

    # --- definition ---------------------------------------------------------------------------
    def check_definition(self, field: FieldDef, ctx: DefinitionContext) -> Iterable[tuple[str, str]]:
        """Yield (key, message) for each problem in the field's type-specific settings."""
        default = field.get("default")
        if default is not None:
            try:
                self.prepare(field, default)
            except ValueProblem as exc:
                yield "default", f"default value is not valid: {exc.message}"

    # --- values -------------------------------------------------------------------------------
    def prepare(self, field: FieldDef, raw: Any) -> Any:
        """Check input (JSON or form text) and return the Python value to store; None means empty."""
        raise NotImplementedError

    def from_form(self, field: FieldDef, values: list[str]) -> Any:
        """Turn the strings an HTML form posted for this field into raw input for ``prepare``."""
        return values[-1] if values else None

    def serialize(self, field: FieldDef, value: Any) -> Any:
        """Return the JSON representation of a stored value."""
        return value

    def to_text(self, field: FieldDef, value: Any) -> str:
        """Return a plain-text rendering, used for display and as the basis of re-typing."""
        if value is None:
            return ""
        serialized = self.serialize(field, value)
        return serialized if isinstance(serialized, str) else str(serialized)

    def convert(self, field: FieldDef, old_field: FieldDef, old_type: FieldType, value: Any) -> Any:
        """Convert a value stored under another type; raise ValueProblem when it cannot survive."""
        if value is None:
            return None
        return self.prepare(field, old_type.to_text(old_field, value))

    def is_empty(self, value: Any) -> bool:
        """Whether a prepared value counts as 'not given' for required checks."""
        return value is None or value == "" or value == []

    # --- contract -----------------------------------------------------------------------------
    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        """Return the OpenAPI 3.0 schema of one non-empty JSON value: as the API writes it, or as sent.

        The input schema may be narrower than what ``prepare`` accepts (it names the canonical form),
        never wider: a value it describes must be accepted.  Emptiness (null) is added by the caller.
        """
        return {"description": f"a {self.type} value"}

    # --- queries ------------------------------------------------------------------------------
    def filter_value(self, field: FieldDef, op: str, raw: Any) -> Any:
        """Parse the value of a filter for operator ``op``."""
        if op == "isnull":
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes"):
                return True
            if text in ("0", "false", "no"):
                return False
            raise ValueProblem("isnull takes true or false")
        if op in ("in", "between"):
            items = raw if isinstance(raw, list) else [part for part in str(raw).split(",")]
            values = [self.prepare(field, item) for item in items]
            if op == "between" and len(values) != 2:
                raise ValueProblem("between takes two comma-separated values")
            if op == "in" and not values:
                raise ValueProblem("in takes at least one value")
            return values
        value = self.prepare(field, raw)
        if value is None:
            raise ValueProblem("an empty value cannot be compared; use isnull")
        return value

    def filter_clause(self, field: FieldDef, column: Any, op: str, value: Any) -> Clause:
        """Return the SQL condition for ``column <op> value`` (value already parsed)."""
        # ILIKE on both databases: SQLite's LIKE ignores case anyway, PostgreSQL's would not.
        if op == "contains":
            contains: Clause = column.ilike(f"%{_escape_like(str(value))}%", escape="\\")
            return contains
        if op == "startswith":
            starts: Clause = column.ilike(f"{_escape_like(str(value))}%", escape="\\")
            return starts
        builder = _GENERIC_BUILDERS.get(op)
        if builder is None:
            raise ValueProblem(f"operator {op} is not supported")
        return builder(column, value)

    def search_clause(self, field: FieldDef, column: Any, text: str) -> Clause:
        """Return the condition used by free-text search over this field."""
        from sqlalchemy import Text, cast, func

        # The cast lets a searchable non-text column (a date, a boolean) match its text on PostgreSQL too.
        return func.lower(cast(column, Text)).like(f"%{_escape_like(text.lower())}%", escape="\\")


class FieldTypeRegistry:
    """Registered field types by name; filled once at start-up."""

    def __init__(self) -> None:
        self._types: dict[str, FieldType] = {}

    def register(self, field_type: type[FieldType]) -> None:
        """Register a field-type class under its ``type`` name."""
        name = field_type.type
        if name in self._types:
            raise ValueError(f"field type {name!r} is already registered")
        self._types[name] = field_type()

    def get(self, name: str) -> FieldType:
        """Return the field type called ``name``; KeyError when unknown."""
        return self._types[name]

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def names(self) -> list[str]:
        """Return registered type names in registration order."""
        return list(self._types)

    def of(self, field: FieldDef) -> FieldType:
        """Return the type of a field."""
        return self._types[field.type]


__all__ = [
    "COMPARISON_OPERATORS",
    "EQUALITY_OPERATORS",
    "TEXT_OPERATORS",
    "DefinitionContext",
    "FieldType",
    "FieldTypeRegistry",
    "ValueProblem",
]
