"""The expression language in memory: arithmetic, nulls, functions, types and errors with positions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from metamodel.model import SiteModel
from rule_engine.expressions import (
    DictContext,
    ExpressionCache,
    ExpressionError,
    FunctionRegistry,
    compile_expression,
)
from rule_engine.expressions.functions import Function
from rule_engine.expressions.types import NUMBER, STRING
from tests.rule_engine.expressions.conftest import NOW


def run(
    site: SiteModel,
    functions: FunctionRegistry,
    text: str,
    record: dict[str, Any] | None = None,
    entity: str = "customer",
    **kw: Any,
) -> Any:
    return compile_expression(text, site, entity, functions).evaluate(DictContext(record or {}, NOW, **kw))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1 + 0.2 == 0.3", True),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 / 4", Decimal("2.5")),
        ("7 % 3", 1),
        ("2 ^ 10", 1024),
        ("-3 + 1", -2),
        ("not (1 > 2)", True),
        ("1 < 2 and 2 < 3", True),
        ("1 > 2 or 'a' == 'a'", True),
        ("'ab' + 'cd'", "abcd"),
        ("'n=' || 5", "n=5"),
        ("null == null", True),
    ],
)
def test_literals_and_operators(
    site: SiteModel, functions: FunctionRegistry, text: str, expected: Any
) -> None:
    assert run(site, functions, text) == expected


def test_money_stays_exact(site: SiteModel, functions: FunctionRegistry) -> None:
    assert run(site, functions, "credit * 3", {"credit": Decimal("0.10")}) == Decimal("0.30")
    assert run(site, functions, "credit + 0.01 == 1000000.01", {"credit": Decimal("1000000.00")}) is True


def test_null_handling(site: SiteModel, functions: FunctionRegistry) -> None:
    assert run(site, functions, "credit + 1", {"credit": None}) is None
    assert run(site, functions, "credit > 1", {"credit": None}) is False
    assert run(site, functions, "credit == null", {"credit": None}) is True
    assert run(site, functions, "tier != 'gold'", {"tier": None}) is True
    assert run(site, functions, "coalesce(credit, 5)", {"credit": None}) == 5
    assert run(site, functions, "is_empty(name)", {"name": None}) is True
    assert run(site, functions, "upper(name)", {"name": None}) is None


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ("len(name)", {"name": "abc"}, 3),
        ("lower(name)", {"name": "ABC"}, "abc"),
        ("upper(trim(name))", {"name": " ab "}, "AB"),
        ("contains(name, 'b')", {"name": "abc"}, True),
        ("startswith(name, 'ab')", {"name": "abc"}, True),
        ("substr(name, 1, 2)", {"name": "abcd"}, "bc"),
        ("replace(name, 'a', 'x')", {"name": "aba"}, "xbx"),
        ("concat(name, '-', 1)", {"name": "a"}, "a-1"),
        ("round(credit, 1)", {"credit": Decimal("2.25")}, Decimal("2.3")),
        ("abs(-2)", {}, 2),
        ("max(1, 5, 3)", {}, 5),
        ("today()", {}, NOW.date()),
        ("now()", {}, NOW),
        ("add_days(born, 10)", {"born": dt.date(2026, 1, 1)}, dt.date(2026, 1, 11)),
        ("add_hours(seen_at, 72)", {"seen_at": NOW}, NOW + dt.timedelta(hours=72)),
        ("add_months(born, 1)", {"born": dt.date(2026, 1, 31)}, dt.date(2026, 2, 28)),
        ("days_between(born, today())", {"born": dt.date(2026, 3, 1)}, 9),
        ("hours_since(seen_at)", {"seen_at": NOW - dt.timedelta(hours=49, minutes=30)}, 49),
        ("days_since(born)", {"born": dt.date(2026, 3, 1)}, 9),
        ("month(born) == 3 and day(born) == 1", {"born": dt.date(2026, 3, 1)}, True),
        ("year(now())", {}, 2026),
        ("if(vip, 'yes', 'no')", {"vip": False}, "no"),
        ("born < now()", {"born": dt.date(2026, 3, 1)}, True),
    ],
)
def test_builtin_functions(
    site: SiteModel, functions: FunctionRegistry, text: str, record: dict[str, Any], expected: Any
) -> None:
    assert run(site, functions, text, record) == expected


def test_link_traversal(site: SiteModel, functions: FunctionRegistry) -> None:
    links = {("customer", "tier"): "gold"}
    assert (
        run(site, functions, "customer.tier == 'gold'", {"customer": 1}, entity="purchase", links=links)
        is True
    )


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("tierr == 'gold'", "unknown field 'tierr'", 0),
        ("name == 'x' and foo(1)", "unknown function 'foo'", 16),
        ("add_days(name, 1)", "add_days expects datetime as argument 1, got string", 9),
        ("name > 3", "cannot compare string with number", 5),
        ("credit and true", "and expects boolean, got number", None),
        ("lines == 1", "child table", 0),
        ("customer.name == 'x'", "'customer' is not a link field", 0),
        ("len(name, 2)", "len takes 1 argument(s), got 2", 0),
        ("count('nope')", "neither a child table", 6),
    ],
)
def test_compile_errors_name_the_position(
    site: SiteModel, functions: FunctionRegistry, text: str, message: str, position: int | None
) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, site, "customer", functions)
    assert message in caught.value.message
    if position is not None:
        assert caught.value.position == position
        assert f"at position {position}" in caught.value.message


def test_result_types_and_fields_used(site: SiteModel, functions: FunctionRegistry) -> None:
    compiled = compile_expression("credit * 2", site, "customer", functions)
    assert compiled.result_type == NUMBER and compiled.fields_used == {"credit"}
    compiled = compile_expression("customer.tier || ''", site, "purchase", functions)
    assert compiled.result_type == STRING and compiled.fields_used == {"customer.tier"}


def test_plugins_add_functions(site: SiteModel, functions: FunctionRegistry) -> None:
    functions.register(Function("double", (NUMBER,), NUMBER, lambda v: v * 2))
    assert run(site, functions, "double(credit)", {"credit": Decimal("1.5")}) == Decimal("3.0")
    with pytest.raises(ValueError):
        functions.register(Function("double", (NUMBER,), NUMBER, lambda v: v))


def test_cache_compiles_once_per_version(site: SiteModel, functions: FunctionRegistry) -> None:
    cache = ExpressionCache(functions)
    first = cache.compile(site, "customer", "credit > 1")
    assert cache.compile(site, "customer", "credit > 1") is first
