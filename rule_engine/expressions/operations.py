"""The operations both evaluation backends share: checked arithmetic, comparison and error mapping.

The closure backend (``compiler``) and the generated functions (``codegen``) call these very functions,
so the two cannot drift apart; nothing here knows either backend.
"""

from __future__ import annotations

import datetime as dt
import decimal
import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, NoReturn

from rule_engine.expressions.errors import EvaluationError
from rule_engine.expressions.functions import MAX_STRING

MAX_POWER = 100
MAX_INT = 10**30
_DECIMALS = decimal.Context(
    prec=34, Emax=60, Emin=-60, traps=[decimal.Overflow, decimal.InvalidOperation, decimal.DivisionByZero]
)
EVALUATION_ERRORS = (decimal.DecimalException, OverflowError, TypeError, ValueError)
# Where a date meets a datetime: at midnight in the site's zone. The evaluation entry points (which know
# the site) set it around each evaluation; the operations below read it only on that rare mixed path.
LOCAL_ZONE: ContextVar[dt.tzinfo] = ContextVar("expression_local_zone", default=dt.UTC)


@contextmanager
def local_zone(zone: dt.tzinfo | None) -> Iterator[None]:
    """Evaluate the block with dates meeting datetimes at midnight in ``zone`` (UTC when None)."""
    token = LOCAL_ZONE.set(zone or dt.UTC)
    try:
        yield
    finally:
        LOCAL_ZONE.reset(token)


def evaluation_failed(exc: BaseException) -> NoReturn:
    """Raise the EvaluationError for an arithmetic or type error met while evaluating."""
    if isinstance(exc, (decimal.DecimalException, OverflowError)):
        raise EvaluationError("a number is out of range") from None
    raise EvaluationError(f"cannot evaluate: {exc}") from None


def checked_number(value: Any) -> Any:
    """Return an arithmetic result within the language's range (decimals rounded to its precision)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise EvaluationError("a number is too large")
    if isinstance(value, Decimal):
        return _DECIMALS.plus(value)
    return value


def power(a: Any, b: Any) -> Any:
    """``a ^ b`` with bounded exponents and results."""
    if abs(b) > MAX_POWER:
        raise EvaluationError(f"exponents are limited to {MAX_POWER}")
    if a != 0 and abs(b) * max(len(str(abs(int(a)))), 1) > 60:
        raise EvaluationError("a number is too large")
    if isinstance(a, int) and isinstance(b, int) and b >= 0:
        return a**b
    return _DECIMALS.power(Decimal(a), Decimal(b))


def divide(a: Any, b: Any) -> Any:
    """``a / b`` as a decimal; division by zero is an evaluation error."""
    if b == 0:
        raise EvaluationError("division by zero")
    return _DECIMALS.divide(Decimal(a), Decimal(b))


def modulo(a: Any, b: Any) -> Any:
    """``a % b``; integral for two ints, else decimal."""
    if b == 0:
        raise EvaluationError("division by zero")
    return a % b if isinstance(a, int) and isinstance(b, int) else _DECIMALS.remainder(Decimal(a), Decimal(b))


def multiply(a: Any, b: Any) -> Any:
    """``a * b``; integral for two ints, else decimal."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    return _DECIMALS.multiply(Decimal(a), Decimal(b))


def add(a: Any, b: Any) -> Any:
    """``a + b``: text concatenation (bounded) or a sum."""
    if isinstance(a, str):
        if len(a) + len(b) > MAX_STRING:
            raise EvaluationError(f"text longer than {MAX_STRING} characters")
        return a + b
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return _DECIMALS.add(Decimal(a), Decimal(b))


def subtract(a: Any, b: Any) -> Any:
    """``a - b``; integral for two ints, else decimal."""
    if isinstance(a, int) and isinstance(b, int):
        return a - b
    return _DECIMALS.subtract(Decimal(a), Decimal(b))


ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "%": modulo,
    "^": power,
}
ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Return two values ready to compare: a date meets a datetime at midnight in the site's zone."""
    if (
        isinstance(a, dt.datetime) != isinstance(b, dt.datetime)
        and isinstance(a, dt.date)
        and isinstance(b, dt.date)
    ):
        zone = LOCAL_ZONE.get()
        a = a if isinstance(a, dt.datetime) else dt.datetime(a.year, a.month, a.day, tzinfo=zone)
        b = b if isinstance(b, dt.datetime) else dt.datetime(b.year, b.month, b.day, tzinfo=zone)
    return a, b


def arithmetic(op: str) -> Callable[[Any, Any], Any]:
    """The binary arithmetic ``op`` on two values: null when either is null, else checked."""
    compute = ARITHMETIC[op]

    def computed(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        return checked_number(compute(a, b))

    return computed


def ordering(op: str) -> Callable[[Any, Any], bool]:
    """The ordering ``op`` on two values: false when either is null."""
    compare = ORDERING[op]

    def ordered(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        return bool(compare(*comparable(a, b)))

    return ordered


def equality(equal: bool) -> Callable[[Any, Any], bool]:
    """``==`` (``equal``) or ``!=`` on two values, a date meeting a datetime at midnight (site zone)."""

    def same(a: Any, b: Any) -> bool:
        a, b = comparable(a, b)
        return (a == b) is equal

    return same


def concat(a: Any, b: Any) -> Any:
    """``a || b``: both as text, null as empty."""
    return add("" if a is None else str(a), "" if b is None else str(b))


def negate(value: Any) -> Any:
    """``-value``; null stays null (no range check, as ever)."""
    return None if value is None else -value


def binary_operations() -> dict[str, Callable[..., Any]]:
    """The generic value-level operation for every binary operator but ``and``/``or``, and "check"."""
    operations: dict[str, Callable[..., Any]] = {op: arithmetic(op) for op in ARITHMETIC}
    operations.update({op: ordering(op) for op in ORDERING})
    operations.update({"==": equality(True), "!=": equality(False), "||": concat, "check": checked_number})
    return operations
