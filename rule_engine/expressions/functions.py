"""Functions callable from expressions; plugins add theirs by registering a Function."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rule_engine.expressions.errors import EvaluationError
from rule_engine.expressions.types import ANY, BOOLEAN, DATE, DATETIME, LIST, NUMBER, STRING

MAX_STRING = 100_000
AGGREGATES = frozenset({"count", "sum", "min_of", "max_of", "last_n_count"})


@dataclass(frozen=True)
class Function:
    """A callable: parameter types (the last may repeat when ``variadic``), result type, implementation.

    ``needs_now`` functions get the evaluation clock as first argument; ``null_safe`` ones are called with
    nulls, the others return null when any argument is null.
    """

    name: str
    params: tuple[str, ...]
    result: str
    impl: Callable[..., Any]
    optional: int = 0
    variadic: bool = False
    needs_now: bool = False
    null_safe: bool = False


class FunctionRegistry:
    """Functions by name; filled once at start-up."""

    def __init__(self) -> None:
        self.functions: dict[str, Function] = {}

    def register(self, function: Function) -> None:
        """Register ``function`` under its name."""
        if function.name in self.functions or function.name in AGGREGATES:
            raise ValueError(f"function {function.name!r} is already registered")
        self.functions[function.name] = function

    def get(self, name: str) -> Function | None:
        """Return the function called ``name``, or None."""
        return self.functions.get(name)

    def names(self) -> list[str]:
        """Return every callable name, aggregates included."""
        return sorted([*self.functions, *AGGREGATES])


def _text(value: str) -> str:
    if len(value) > MAX_STRING:
        raise EvaluationError(f"text longer than {MAX_STRING} characters")
    return value


def _to_datetime(value: dt.date | dt.datetime, zone: dt.tzinfo | None = None) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    # A date is midnight where the other moment lives: now() carries the site's zone, so
    # days_since(a_date) counts the site's calendar days.
    return dt.datetime(value.year, value.month, value.day, tzinfo=zone or dt.UTC)


# Date arithmetic stays within about 1,000 years either way, so a huge offset is a clear error
# (never an OverflowError from the calendar).
MAX_OFFSET_DAYS = 366_000


def _offset(name: str, amount: Any, per_day: float) -> float:
    number = float(amount)
    if not math.isfinite(number) or abs(number) > MAX_OFFSET_DAYS * per_day:
        raise EvaluationError(
            f"{name}: the offset {amount} is too large (at most {MAX_OFFSET_DAYS * per_day:g})"
        )
    return number


def _shifted(name: str, shift: Callable[[], Any]) -> Any:
    try:
        return shift()
    except OverflowError:
        raise EvaluationError(f"{name}: the result is outside the calendar (years 1 to 9999)") from None


def _add_days(value: Any, days: Any) -> Any:
    offset = _offset("add_days", days, 1)
    return _shifted("add_days", lambda: value + dt.timedelta(days=offset))


def _add_hours(value: Any, hours: Any) -> Any:
    offset = _offset("add_hours", hours, 24)
    return _shifted("add_hours", lambda: _to_datetime(value) + dt.timedelta(hours=offset))


def _add_months(value: Any, months: Any) -> Any:
    _offset("add_months", months, 12 / 366)
    total = value.month - 1 + int(months)
    year, month = value.year + total // 12, total % 12 + 1
    day = min(
        value.day,
        [
            31,
            29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][month - 1],
    )
    if not 1 <= year <= 9999:
        raise EvaluationError("add_months: the result is outside the calendar (years 1 to 9999)")
    return value.replace(year=year, month=month, day=day)


def _between(a: Any, b: Any) -> dt.timedelta:
    if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
        zone = (a if isinstance(a, dt.datetime) else b).tzinfo
        return _to_datetime(b, zone) - _to_datetime(a, zone)
    return dt.timedelta(days=(b - a).days)


def _number(value: float | int) -> int:
    # Whole days and hours: the callers floor-divide seconds.
    return int(value)


def _round(value: Any, places: Any = 0) -> Any:
    places = int(places)
    if not -10 <= places <= 20:
        raise EvaluationError("round takes 0 to 20 decimal places")
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise EvaluationError(f"'{value}' is not a date") from None


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _if(condition: Any, then: Any, otherwise: Any) -> Any:
    return then if condition is True else otherwise


BUILTINS: Sequence[Function] = (
    Function("len", (STRING,), NUMBER, lambda s: len(s)),
    Function("lower", (STRING,), STRING, lambda s: s.lower()),
    Function("upper", (STRING,), STRING, lambda s: s.upper()),
    Function("trim", (STRING,), STRING, lambda s: s.strip()),
    Function(
        "concat",
        (ANY,),
        STRING,
        lambda *v: _text("".join("" if x is None else str(x) for x in v)),
        variadic=True,
        null_safe=True,
    ),
    Function("contains", (STRING, STRING), BOOLEAN, lambda s, part: part in s),
    Function("startswith", (STRING, STRING), BOOLEAN, lambda s, part: s.startswith(part)),
    Function("endswith", (STRING, STRING), BOOLEAN, lambda s, part: s.endswith(part)),
    Function(
        "substr",
        (STRING, NUMBER, NUMBER),
        STRING,
        lambda s, start, n=None: s[int(start) : None if n is None else int(start) + int(n)],
        optional=1,
    ),
    Function("replace", (STRING, STRING, STRING), STRING, lambda s, a, b: _text(s.replace(a, b)) if a else s),
    Function("coalesce", (ANY,), ANY, _coalesce, variadic=True, null_safe=True),
    Function("is_null", (ANY,), BOOLEAN, lambda v: v is None, null_safe=True),
    Function("isnull", (ANY,), BOOLEAN, lambda v: v is None, null_safe=True),
    Function("is_empty", (ANY,), BOOLEAN, lambda v: v is None or v == "" or v == [], null_safe=True),
    Function("abs", (NUMBER,), NUMBER, lambda v: abs(v)),
    Function("round", (NUMBER, NUMBER), NUMBER, _round, optional=1),
    Function("floor", (NUMBER,), NUMBER, lambda v: math.floor(v)),
    Function("ceil", (NUMBER,), NUMBER, lambda v: math.ceil(v)),
    Function("min", (NUMBER,), NUMBER, lambda *v: min(v), variadic=True),
    Function("max", (NUMBER,), NUMBER, lambda *v: max(v), variadic=True),
    Function("now", (), DATETIME, lambda now: now, needs_now=True),
    Function("today", (), DATE, lambda now: now.date(), needs_now=True),
    Function("date", (ANY,), DATE, _date),
    Function("add_days", (DATETIME, NUMBER), ANY, _add_days),
    Function("add_hours", (DATETIME, NUMBER), DATETIME, _add_hours),
    Function("add_months", (DATETIME, NUMBER), ANY, _add_months),
    Function(
        "days_between",
        (DATETIME, DATETIME),
        NUMBER,
        lambda a, b: _number(_between(a, b).total_seconds() // 86400),
    ),
    Function(
        "hours_between",
        (DATETIME, DATETIME),
        NUMBER,
        lambda a, b: _number(_between(a, b).total_seconds() // 3600),
    ),
    Function(
        "days_since",
        (DATETIME,),
        NUMBER,
        lambda now, a: _number(_between(a, now).total_seconds() // 86400),
        needs_now=True,
    ),
    Function(
        "hours_since",
        (DATETIME,),
        NUMBER,
        lambda now, a: _number(_between(a, now).total_seconds() // 3600),
        needs_now=True,
    ),
    Function("year", (DATETIME,), NUMBER, lambda d: d.year),
    Function("month", (DATETIME,), NUMBER, lambda d: d.month),
    Function("day", (DATETIME,), NUMBER, lambda d: d.day),
    Function("weekday", (DATETIME,), NUMBER, lambda d: d.isoweekday()),
    Function("if", (BOOLEAN, ANY, ANY), ANY, _if, null_safe=True),
    Function("has", (LIST, STRING), BOOLEAN, lambda items, v: v in items),
)
# add_days keeps a date a date: its declared result is refined by the compiler from the first argument.
DATE_PRESERVING = frozenset({"add_days", "add_months"})


def register_builtin_functions(registry: FunctionRegistry) -> FunctionRegistry:
    """Register the built-in functions and return the registry."""
    for function in BUILTINS:
        registry.register(function)
    return registry


__all__ = [
    "AGGREGATES",
    "BUILTINS",
    "DATE",
    "DATE_PRESERVING",
    "Function",
    "FunctionRegistry",
    "register_builtin_functions",
]
