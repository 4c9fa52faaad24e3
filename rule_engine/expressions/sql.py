"""Translating the SQL-able part of expressions into SQLAlchemy conditions on an entity's table.

Conditions keep the expression semantics for empty values: comparisons with an empty field are false,
``!=`` is true, so translating ``not`` stays equivalent. Anything without a faithful SQL form gives None
and the caller filters in Python.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from sqlalchemy import Date, DateTime, and_, false, func, not_, or_, select, true, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from metamodel.coltypes import UTCDateTime
from metamodel.model import EntityModel, SiteModel
from rule_engine.expressions.ast import Binary, Call, FieldRef, Literal, Node, Unary
from rule_engine.expressions.compiled import AggregateSpec, CompiledExpression
from rule_engine.expressions.compiler import constant_value
from rule_engine.expressions.functions import AGGREGATES, FunctionRegistry, register_builtin_functions


class _NoSql(Exception):
    """The expression has no faithful SQL form."""


_CONSTANT_FUNCTIONS = {
    "now",
    "today",
    "add_days",
    "add_hours",
    "add_months",
    "date",
    "lower",
    "upper",
    "trim",
    "abs",
    "concat",
}
_SHIFTS = {"add_days": "days", "add_hours": "hours"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def to_sql(
    compiled: CompiledExpression | None, model: EntityModel, now: dt.datetime, site: SiteModel | None = None
) -> ColumnElement[bool] | None:
    """Return a condition equivalent to a boolean expression, or None when it has no SQL form.

    Without ``site``, conditions on fields reached through links have no SQL form.
    """
    if compiled is None:
        return None
    translator = _Translator(model, now, compiled, site)
    try:
        return translator.condition(compiled.node)
    except _NoSql:
        return None


class _Translator:
    def __init__(
        self, model: EntityModel, now: dt.datetime, compiled: CompiledExpression, site: SiteModel | None
    ) -> None:
        self.model = model
        self.site = site
        self.table = model.table
        self.now = now
        self.specs = list(compiled.aggregates)

    # --- conditions -------------------------------------------------------------------------
    def condition(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Binary) and node.op in ("and", "or"):
            parts = (self.condition(node.left), self.condition(node.right))
            return and_(*parts) if node.op == "and" else or_(*parts)
        if isinstance(node, Unary) and node.op == "not":
            return not_(self.condition(node.operand))
        if isinstance(node, Binary) and node.op in _FLIP:
            return self.comparison(node)
        if isinstance(node, Literal) and isinstance(node.value, bool):
            return true() if node.value else false()
        if isinstance(node, FieldRef) and len(node.path) == 1:
            column = self.column(node.path[0])
            return and_(column.is_not(None), column == True)  # noqa: E712
        if (
            isinstance(node, Call)
            and node.name in ("is_null", "isnull")
            and isinstance(node.args[0], FieldRef)
        ):
            is_null: ColumnElement[bool] = self.operand(node.args[0]).is_(None)
            return is_null
        if isinstance(node, Call) and node.name in ("contains", "startswith") and len(node.args) == 2:
            column = self.operand(node.args[0])
            text = self.constant(node.args[1])
            if not isinstance(text, str):
                raise _NoSql
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%" if node.name == "contains" else f"{escaped}%"
            return and_(column.is_not(None), column.like(pattern, escape="\\"))
        raise _NoSql

    def comparison(self, node: Binary) -> ColumnElement[bool]:
        left, right, op = node.left, node.right, node.op
        if self.is_constant(left) and not self.is_constant(right):
            left, right, op = right, left, _FLIP[op]
        if not self.is_constant(right):
            raise _NoSql
        value = self.constant(right)
        left, value = self.unshift(left, value)
        column = self.operand(left)
        value = self.meeting(column, value)
        if value is None:
            if op == "==":
                absent: ColumnElement[bool] = column.is_(None)
                return absent
            if op == "!=":
                present: ColumnElement[bool] = column.is_not(None)
                return present
            return false()
        if op == "==":
            return and_(column.is_not(None), column == value)
        if op == "!=":
            return or_(column.is_(None), column != value)
        compare = {"<": column < value, "<=": column <= value, ">": column > value, ">=": column >= value}[op]
        return and_(column.is_not(None), compare)

    def meeting(self, column: Any, value: Any) -> Any:
        """Return ``value`` as ``column`` compares it: a date meets a datetime column at midnight in the
        site's zone (as in Python); a date column against a moment is left to Python."""
        kind = getattr(column, "type", None)
        moment_column = isinstance(kind, (UTCDateTime, DateTime))
        if isinstance(value, dt.datetime):
            if isinstance(kind, Date) and not moment_column:
                raise _NoSql
            return value
        if isinstance(value, dt.date) and moment_column:
            return dt.datetime(value.year, value.month, value.day, tzinfo=self.now.tzinfo or dt.UTC)
        return value

    def unshift(self, node: Node, value: Any) -> tuple[Node, Any]:
        # add_hours(field, k) OP v  ==  field OP v - k hours: keeps the column bare so its index is used.
        if (
            isinstance(node, Call)
            and node.name in _SHIFTS
            and len(node.args) == 2
            and self.is_constant(node.args[1])
        ):
            amount = self.constant(node.args[1])
            if value is not None and amount is not None:
                value = value - dt.timedelta(**{_SHIFTS[node.name]: float(amount)})
            return node.args[0], value
        return node, value

    # --- operands ---------------------------------------------------------------------------
    def operand(self, node: Node) -> Any:
        if isinstance(node, FieldRef):
            if len(node.path) == 1:
                return self.column(node.path[0])
            if len(node.path) == 2:
                return self.linked(node.path)
        if isinstance(node, Call) and node.name in ("lower", "upper") and isinstance(node.args[0], FieldRef):
            column = self.operand(node.args[0])
            return func.lower(column) if node.name == "lower" else func.upper(column)
        if isinstance(node, Call) and node.name in AGGREGATES:
            return self.aggregate(node)
        raise _NoSql

    def column(self, name: str) -> Any:
        if name not in self.table.c:
            raise _NoSql
        definition = self.model.fields.get(name)
        if definition is not None and definition.type in ("multi_select", "json"):
            raise _NoSql
        if name in self.model.seals:
            raise _NoSql  # ciphertext: compared after decryption, in Python
        return self.table.c[name]

    def linked(self, path: tuple[str, ...]) -> Any:
        link = self.model.fields.get(path[0])
        if link is None or link.type != "link":
            raise _NoSql
        target = self.site.entities.get(str(link.get("target"))) if self.site is not None else None
        if target is None or path[1] not in target.table.c or path[1] in target.seals:
            raise _NoSql
        column = target.table.c[path[1]]
        return (
            select(column)
            .where(target.table.c.id == self.table.c[path[0]])
            .correlate(self.table)
            .scalar_subquery()
        )

    def aggregate(self, node: Call) -> Any:
        spec = self._spec_for(node)
        if spec is None or spec.kind == "last_n_count" or spec.sibling:
            raise _NoSql
        source = spec.source.table
        where = (
            [source.c.parent_id == self.table.c.id, source.c.parent_field == spec.parent_field]
            if spec.parent_field
            else [source.c[spec.link_field or ""] == self.table.c.id]
        )
        if spec.condition is not None:
            inner = to_sql(spec.condition, spec.source, self.now, self.site)
            if inner is None:
                raise _NoSql
            where.append(inner)
        if spec.kind == "count":
            return select(func.count()).select_from(source).where(*where).scalar_subquery()
        if spec.field in spec.source.seals:
            raise _NoSql
        column = source.c[spec.field or ""]
        aggregate = getattr(func, {"sum": "sum", "min_of": "min", "max_of": "max"}[spec.kind])
        value = select(type_coerce(aggregate(column), column.type)).where(*where).scalar_subquery()
        return func.coalesce(value, 0) if spec.kind == "sum" else value

    def _spec_for(self, node: Call) -> AggregateSpec | None:
        source = node.args[0].value if node.args and isinstance(node.args[0], Literal) else None
        for spec in self.specs:
            key = spec.parent_field or f"{spec.source.name}.{spec.link_field}"
            if spec.kind == node.name and key == source:
                return spec
        return None

    # --- constants --------------------------------------------------------------------------
    def is_constant(self, node: Node) -> bool:
        if isinstance(node, Literal):
            return True
        if isinstance(node, Unary) and node.op == "-":
            return self.is_constant(node.operand)
        if isinstance(node, Binary) and node.op in ("+", "-", "*"):
            return self.is_constant(node.left) and self.is_constant(node.right)
        if isinstance(node, Call) and node.name in _CONSTANT_FUNCTIONS:
            return all(self.is_constant(arg) for arg in node.args)
        return False

    def constant(self, node: Node) -> Any:
        return constant_value(node, self.model, _constant_functions(), self.now)


@cache
def _constant_functions() -> FunctionRegistry:
    # Constants call only built-in functions (_CONSTANT_FUNCTIONS): one private registry of them suffices.
    return register_builtin_functions(FunctionRegistry())
