"""A corpus of hostile expressions: each is refused when compiled or stopped when evaluated, fast and clearly."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import pytest

from metamodel.model import SiteModel
from rule_engine.expressions import (
    DictContext,
    EvaluationError,
    ExpressionError,
    FunctionRegistry,
    compile_expression,
)
from tests.rule_engine.expressions.conftest import NOW

LIMIT_S = 1.0
RECORD: dict[str, Any] = {
    "name": "x" * 10_000,
    "credit": Decimal("1E+20"),
    "born": dt.date(2000, 1, 1),
    "seen_at": NOW,
}

# Refused when compiled: code, attribute access, Python syntax, size and nesting bombs.
REFUSED_AT_COMPILE = [
    ("__import__('os').system('id')", "syntax error"),
    ("name.__class__", "not a valid field or function name"),
    ("name.__class__.__mro__", "not a valid field or function name"),
    ("lambda: 1", ""),
    ("[x for x in name]", "unexpected character"),
    ("{'a': 1}", "unexpected character"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("fac(100000)", "unknown function 'fac'"),
    ("pow(9, 999999)", "unknown function 'pow'"),
    ("E ^ 1000", "unknown name 'E'"),
    ("name * 1000000000", "expects number, got string"),
    ("(" * 5000 + "1" + ")" * 5000, "longer than"),
    ("(" * 40 + "1" + ")" * 40, "nests deeper than"),
    ("1" + " + 1" * 400, "more than 500 parts"),
    ("not " * 100 + "true", "too many 'not'"),
    ("x" * 3000, "longer than"),
    ("name == 'a\x00b'", "NUL"),
    ("1; 2", "unexpected character"),
    ("`id`", "unexpected character"),
    ("$HOME", "unexpected character"),
    ("999999999999999999999999999999999999999", "too large"),
    ("substr(name)", "argument"),
    ("count('customer')", "neither a child table"),
    ("credit.tier", "not a link field"),
]

# Accepted (well-typed) but stopped when evaluated, with a clear error.
STOPPED_AT_EVALUATION = [
    ("9 ^ 9 ^ 9", "a number is too large"),
    ("2 ^ 1000000", "exponents are limited"),
    ("credit ^ 99", "a number is too large"),
    ("credit * credit * credit * credit", "a number is out of range"),
    ("100000000000000000000000000 * 100000000000000000000000000", "a number is too large"),
    ("1 / 0", "division by zero"),
    ("credit % 0", "division by zero"),
    ("concat(name, name, name, name, name, name, name, name, name, name, name)", "text longer than"),
    ("replace(name, 'x', name) == ''", "text longer than"),
    (
        "name || name || name || name || name || name || name || name || name || name || name",
        "text longer than",
    ),
    ("add_days(born, 100000000000)", ""),
    ("add_hours(seen_at, 10000000000000)", ""),
    ("add_months(born, 99999999)", ""),
]


@pytest.mark.parametrize(("text", "message"), REFUSED_AT_COMPILE, ids=[t[:30] for t, _ in REFUSED_AT_COMPILE])
def test_hostile_text_is_refused_at_compile_time(
    site: SiteModel, functions: FunctionRegistry, text: str, message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, site, "customer", functions)
    assert time.monotonic() - started < LIMIT_S
    assert message in caught.value.message
    assert caught.value.message.strip()


@pytest.mark.parametrize(
    ("text", "message"), STOPPED_AT_EVALUATION, ids=[t[:30] for t, _ in STOPPED_AT_EVALUATION]
)
def test_hostile_computation_is_stopped_with_a_clear_error(
    site: SiteModel, functions: FunctionRegistry, text: str, message: str
) -> None:
    compiled = compile_expression(text, site, "customer", functions)
    started = time.monotonic()
    with pytest.raises(EvaluationError) as caught:
        compiled.evaluate(DictContext(RECORD, NOW))
    assert time.monotonic() - started < LIMIT_S
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)
