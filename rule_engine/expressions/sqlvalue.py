"""Translating numeric formulas into SQL values, so a backfill can compute a million records in one UPDATE.

Only what keeps the evaluator's exact results translates: numbers, number fields (of the record or a
linked one), ``+ - *``, unary minus, ``coalesce``, ``if`` with a condition ``to_sql`` can translate,
and roll-up aggregates. Empty operands give an empty result, as in the evaluator.  On SQLite decimals
are stored as scaled integers, so the arithmetic is done on scaled integers (exact) and rounded half
away from zero to the target's scale, as ``stored`` does; on PostgreSQL NUMERIC is exact already.
Anything else (division, text, dates, functions) gives None and the caller computes in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, case, func, literal, null, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from metamodel.coltypes import ExactDecimal
from metamodel.model import EntityModel, SiteModel
from rule_engine.expressions.ast import Binary, Call, FieldRef, Literal, Node, Unary
from rule_engine.expressions.compiler import CompiledExpression
from rule_engine.expressions.functions import AGGREGATES
from rule_engine.expressions.sql import _NoSql, _Translator


@dataclass(frozen=True)
class _Num:
    expr: Any
    scale: int  # SQLite: the value is expr / 10**scale; PostgreSQL: always 0 (expr is the value)


def to_sql_value(
    compiled: CompiledExpression,
    model: EntityModel,
    target_scale: int,
    now: dt.datetime,
    site: SiteModel,
    dialect: str,
) -> ColumnElement[Any] | None:
    """Return the SQL value of a numeric formula as its field stores it, or None when it has none."""
    builder = _Values(model, now, compiled, site, dialect == "sqlite")
    try:
        found: ColumnElement[Any] = builder.stored(builder.value(compiled.node), target_scale)
        return found
    except _NoSql:
        return None


def column_scale(column: Any) -> int | None:
    """Return the scale of a number column (0 for integers), or None when it holds no number."""
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return int(kind.scale)
    if isinstance(kind, Integer | BigInteger):
        return 0
    return None


class _Values(_Translator):
    def __init__(
        self,
        model: EntityModel,
        now: dt.datetime,
        compiled: CompiledExpression,
        site: SiteModel,
        scaled: bool,
    ) -> None:
        super().__init__(model, now, compiled, site)
        self.scaled = scaled

    def stored(self, num: _Num, target: int) -> Any:
        if not self.scaled:
            return func.round(num.expr, target)
        if num.scale <= target:
            # The stored integer itself (typed so, not as the decimal a column would read as).
            return type_coerce(
                num.expr * 10 ** (target - num.scale) if num.scale < target else num.expr, BigInteger()
            )
        divisor = 10 ** (num.scale - target)
        half = divisor // 2
        # SQLite's integer division truncates toward zero: shifting by half first rounds half away
        # from zero.  The operands are typed as integers so SQLAlchemy emits a plain integer "/".
        expr = type_coerce(num.expr, BigInteger())
        return case((expr >= 0, (expr + half) // divisor), else_=(expr - half) // divisor)

    def value(self, node: Node) -> _Num:
        if isinstance(node, Literal):
            return self.number(node.value)
        if isinstance(node, FieldRef) and len(node.path) in (1, 2):
            column = self.column(node.path[0]) if len(node.path) == 1 else self.linked(node.path)
            return self.scaled_column(column, node)
        if isinstance(node, Unary) and node.op == "-":
            inner = self.value(node.operand)
            return _Num(-inner.expr, inner.scale)
        if isinstance(node, Binary) and node.op in ("+", "-"):
            left, right = self.aligned(self.value(node.left), self.value(node.right))
            expr = left.expr + right.expr if node.op == "+" else left.expr - right.expr
            return _Num(expr, left.scale)
        if isinstance(node, Binary) and node.op == "*":
            left, right = self.value(node.left), self.value(node.right)
            return _Num(left.expr * right.expr, left.scale + right.scale)
        if isinstance(node, Call):
            return self.call(node)
        raise _NoSql

    def call(self, node: Call) -> _Num:
        if node.name == "coalesce" and node.args:
            parts = [self.value(arg) for arg in node.args]
            scale = max(p.scale for p in parts)
            return _Num(func.coalesce(*(self.rescaled(p, scale).expr for p in parts)), scale)
        if node.name == "if" and len(node.args) == 3:
            condition = self.condition(node.args[0])
            then, otherwise = self.aligned(self.value(node.args[1]), self.value(node.args[2]))
            return _Num(case((condition, then.expr), else_=otherwise.expr), then.scale)
        if node.name in AGGREGATES:
            spec = self._spec_for(node)
            if spec is None or (spec.kind != "count" and spec.field is None):
                raise _NoSql
            if spec.kind == "count":
                return _Num(type_coerce(self.aggregate(node), BigInteger()), 0)
            source_scale = column_scale(spec.source.table.c[spec.field or ""])
            if source_scale is None:
                raise _NoSql
            if not self.scaled:
                return _Num(self.aggregate(node), 0)
            return _Num(type_coerce(self.aggregate(node), BigInteger()), source_scale)
        raise _NoSql

    def number(self, value: Any) -> _Num:
        if value is None:
            return _Num(null(), 0)
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _NoSql
        if not self.scaled:
            return _Num(literal(value), 0)
        exponent = value.as_tuple().exponent if isinstance(value, Decimal) else 0
        scale = max(0, -int(exponent)) if isinstance(exponent, int) else 0
        return _Num(literal(int(Decimal(value).scaleb(scale)), BigInteger()), scale)

    def scaled_column(self, column: Any, node: FieldRef) -> _Num:
        base = self.table.c[node.path[0]] if len(node.path) == 1 else None
        kind = base if base is not None else self._linked_column(node.path)
        scale = column_scale(kind)
        if scale is None:
            raise _NoSql
        if not self.scaled:
            return _Num(column, 0)
        # The stored integer, typed so: numbers combined with it must not be scaled as decimals again.
        return _Num(type_coerce(column, BigInteger()), scale)

    def _linked_column(self, path: tuple[str, ...]) -> Any:
        assert self.site is not None
        target = self.site.entities[str(self.model.fields[path[0]].get("target"))]
        return target.table.c[path[1]]

    def rescaled(self, num: _Num, scale: int) -> _Num:
        return num if num.scale == scale else _Num(num.expr * 10 ** (scale - num.scale), scale)

    def aligned(self, a: _Num, b: _Num) -> tuple[_Num, _Num]:
        scale = max(a.scale, b.scale)
        return self.rescaled(a, scale), self.rescaled(b, scale)
