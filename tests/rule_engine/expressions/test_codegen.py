"""The generated-function backend against the closure backend: same results, same errors, no code injection."""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from metamodel.model import SiteModel
from rule_engine.expressions import (
    DictContext,
    FunctionRegistry,
    codegen,
    compile_expression,
)
from rule_engine.expressions.compiler import MAX_INT, CompiledExpression
from rule_engine.expressions.parser import MAX_DEPTH
from tests.rule_engine.expressions.conftest import NOW

TODAY = NOW.date()
MIDNIGHT = dt.datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=dt.UTC)

EXPRESSIONS = [
    # arithmetic: int fast paths, Decimal context, nulls, range and division guards
    "credit + 1",
    "credit - 1",
    "credit * 3",
    "1 - credit",
    "credit / 4",
    "credit % 3",
    "credit ^ 2",
    "-credit",
    "credit * credit",
    "credit * credit * credit * credit",
    "credit + 0.01",
    "credit * 1000000000",
    "credit - -credit",
    "-(credit + 1) * 2",
    "(credit + 1) / (credit - 1)",
    # comparisons: ints, decimals, null, literal on either side
    "credit > 1",
    "credit >= 1.5",
    "1 < credit",
    "credit <= credit * 2",
    "credit == 2",
    "credit != 2",
    "credit == 2.5",
    "credit == null",
    "credit != null",
    "null == credit",
    "credit + credit > credit * 2 - 1",
    "credit > null",
    # strings
    "name + '!'",
    "name || credit",
    "credit || name",
    "name == 'a'",
    "name != 'a'",
    "name < 'b'",
    "'b' > name",
    "len(name) > 2",
    "upper(name) == 'ABC'",
    "concat(name, credit)",
    "name == tier",
    "contains(name, 'b')",
    # functions: null-safe and not, needs_now
    "coalesce(credit, 0) + 1",
    "if(vip, credit, 0)",
    "is_null(credit)",
    "abs(credit)",
    "round(credit, 1)",
    "max(credit, 2, 1)",
    "min(credit, 2)",
    "floor(credit)",
    # dates and datetimes: a date meets a datetime at midnight in the site zone (UTC here)
    "born < today()",
    "born == today()",
    "born != today()",
    "seen_at > born",
    "born == seen_at",
    "born >= now()",
    "add_days(born, 1) > seen_at",
    "days_since(born)",
    "year(born) + 1",
    "add_months(born, 1) == born",
    "hours_since(seen_at) * 2",
    # logic: only True is true
    "vip and credit > 0",
    "vip or credit > 0",
    "not vip",
    "vip == true",
    "vip != false",
    "not (credit > 1) or name == 'x'",
    "(credit > 1 and vip) or (name == 'a' and not vip)",
    "vip and vip and (credit > 0 or name == 'a')",
    "not (not vip)",
    "if(vip, true, null) and true",
    "credit > 0 and credit < 10 and name != null",
    "credit > 0 or credit < 10 or vip",
    # aggregates over DictContext.related
    "count('lines')",
    "sum('lines', 'qty') * 2",
    "sum('lines', 'price', 'qty > 1')",
    "count('lines', 'price > 1.5') + count('lines')",
    "max_of('lines', 'price') > credit",
    "min_of('lines', 'qty')",
    "last_n_count('lines', 2, 'qty > 0')",
    "count('lines') > 1 and credit > 0",
]

LINES: list[Mapping[str, Any]] = [
    {"id": 1, "qty": 1, "price": Decimal("1.25"), "created_at": NOW},
    {"id": 2, "qty": 3, "price": Decimal("2.50"), "created_at": NOW},
    {"id": 3, "qty": None, "price": None, "created_at": NOW},
]

RECORDS: list[dict[str, Any]] = [
    {},
    {"credit": Decimal("2.50"), "name": "a", "tier": "a", "vip": True, "born": TODAY, "seen_at": NOW},
    {
        "credit": 2,
        "name": "abc",
        "tier": "gold",
        "vip": False,
        "born": dt.date(2000, 1, 1),
        "seen_at": MIDNIGHT,
    },
    {"credit": 0, "name": "", "vip": None, "born": dt.date(2026, 3, 9), "seen_at": None},
    {"credit": -7, "name": "b", "vip": True},
    {"credit": 10**29, "name": "x"},
    {"credit": -(10**30)},
    {"credit": 2**30 - 1},
    {"credit": 2**30},
    {"credit": -(2**30)},
    {"credit": 2**15 + 3},
    {"credit": True, "vip": 1},
    {"credit": 1.5},
    {"credit": Decimal("1E+20"), "name": "y" * 60_000},
    {"credit": Decimal("-0.001")},
    {"credit": "7", "name": 5, "vip": "yes"},
    {"born": MIDNIGHT, "seen_at": TODAY},
    {"born": dt.datetime(2026, 3, 10), "seen_at": NOW},
]


def _outcome(compiled: CompiledExpression, record: dict[str, Any]) -> tuple[str, str]:
    context = DictContext(record, NOW, related={"lines": LINES})
    try:
        value = compiled.evaluate(context)
    except Exception as exc:  # EvaluationError, or what a function raises unmapped (as with the closures)
        return f"raised {type(exc).__name__}", str(exc)
    return type(value).__name__, repr(value)


def _both(
    site: SiteModel, functions: FunctionRegistry, text: str, entity: str = "customer"
) -> tuple[CompiledExpression, CompiledExpression]:
    generated = compile_expression(text, site, entity, functions)
    closures = compile_expression(text, site, entity, functions, backend="closures")
    assert codegen.is_generated(generated.fn), "the generated backend should be used"
    assert not codegen.is_generated(closures.fn)
    return generated, closures


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_generated_functions_agree_with_the_closures(
    site: SiteModel, functions: FunctionRegistry, text: str
) -> None:
    generated, closures = _both(site, functions, text)
    assert generated.node == closures.node
    assert generated.fields_used == closures.fields_used
    assert generated.result_type == closures.result_type
    assert len(generated.aggregates) == len(closures.aggregates)
    for record in RECORDS:
        assert _outcome(generated, record) == _outcome(closures, record), (text, record)


def test_links_and_fetching_each_field_once(site: SiteModel, functions: FunctionRegistry) -> None:
    generated, closures = _both(
        site, functions, "customer.tier == 'gold' or total * total > total + 1", "purchase"
    )
    all_links: list[dict[tuple[str, ...], Any]] = [
        {("customer", "tier"): "gold"},
        {("customer", "tier"): "silver"},
        {},
    ]
    for links in all_links:
        for record in ({"total": Decimal("3.5")}, {"total": 1}, {}):
            expected = closures.evaluate(DictContext(record, NOW, links=links))
            assert generated.evaluate(DictContext(record, NOW, links=links)) == expected

    class Counting(DictContext):
        def __init__(self, record: dict[str, Any]) -> None:
            super().__init__(record, NOW)
            self.reads: list[str] = []

        def value(self, name: str) -> Any:
            self.reads.append(name)
            return super().value(name)

    compiled = compile_expression(
        "credit * credit + credit > 3 and name == 'a' or name == 'b'", site, "customer", functions
    )
    context = Counting({"credit": 2, "name": "b"})
    assert compiled.evaluate(context) is True
    # Each field is read once per path: ``name`` inside the decided ``and`` and again after it.
    assert context.reads == ["credit", "name", "name"]
    # The right side of a decided ``and`` is not read, as with the closures.
    context = Counting({"credit": 1})
    assert (
        compile_expression("credit > 1 and name == 'a'", site, "customer", functions).evaluate(context)
        is False
    )
    assert context.reads == ["credit"]


def test_dict_context_value_is_a_record_lookup() -> None:
    # The generated code reads a DictContext's record directly; this is what DictContext.value does.
    context = DictContext({"a": 1, "b": None}, NOW)
    assert [context.value("a"), context.value("b"), context.value("c")] == [1, None, None]


HOSTILE_TEXT = "__import__('os').system('echo pwned')"
ALLOWED_NAMES = re.compile(
    r"^(ctx|record|now|_f|_k|_type|_int|_str|_dict_context|_errors|_fail|_e|_expr|_v\d+|_t\d+)$"
)
ALLOWED_ATTRIBUTES = {"value", "linked", "aggregate", "now", "record", "get"}


def _check_generated_module(module: ast.Module, data: set[str]) -> None:
    """Only our names and attributes occur; every string constant is data from the expression or a field name."""
    for item in ast.walk(module):
        if isinstance(item, ast.Name):
            assert ALLOWED_NAMES.match(item.id), item.id
        elif isinstance(item, ast.Attribute):
            assert item.attr in ALLOWED_ATTRIBUTES, item.attr
        elif isinstance(item, ast.arg):
            assert ALLOWED_NAMES.match(item.arg), item.arg
        elif isinstance(item, ast.FunctionDef):
            assert item.name in ("_make", "_expr")
        elif isinstance(item, ast.Constant) and isinstance(item.value, str):
            assert item.value in data, item.value
        elif isinstance(
            item, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Lambda, ast.ClassDef)
        ):
            raise AssertionError(f"unexpected {type(item).__name__}")


@pytest.mark.parametrize(
    "literal",
    [
        HOSTILE_TEXT,
        "x'); __import__('os').system('id'); ('",
        'a"b\nd;',
        "\n\treturn 1\n",
        "_v1",
        "ctx.value('name')",
    ],
)
def test_expression_text_is_only_ever_data(
    site: SiteModel, functions: FunctionRegistry, literal: str
) -> None:
    quote = '"' if "'" in literal else "'"
    if quote in literal and quote == '"':
        quote = "'"
    text = f"name == {quote}{literal}{quote} or concat(name, {quote}{literal}{quote}) == tier"
    compiled = compile_expression(text, site, "customer", functions)
    value = compiled.node.left.right.value  # type: ignore[attr-defined]
    module, _, _ = codegen.generate_module(compiled.node, functions, {}, MAX_INT)
    _check_generated_module(module, {"name", "tier", value})
    assert compiled.fn.__globals__ == {"__builtins__": {}}
    assert compiled.evaluate(DictContext({"name": value}, NOW)) is True
    assert compiled.evaluate(DictContext({"name": "z", "tier": "z" + value}, NOW)) is True
    assert compiled.evaluate(DictContext({"name": HOSTILE_TEXT}, NOW)) is (value == HOSTILE_TEXT)


def test_field_names_and_paths_are_constants(site: SiteModel, functions: FunctionRegistry) -> None:
    compiled = compile_expression("customer.tier == 'gold' and total > 1", site, "purchase", functions)
    module, _, _ = codegen.generate_module(compiled.node, functions, {}, MAX_INT)
    calls = [item for item in ast.walk(module) if isinstance(item, ast.Call)]
    linked = [c for c in calls if isinstance(c.func, ast.Attribute) and c.func.attr == "linked"]
    assert len(linked) == 1 and isinstance(linked[0].args[0], ast.Constant)
    assert linked[0].args[0].value == ("customer", "tier")
    _check_generated_module(module, {"gold", "total"})


@pytest.mark.parametrize("error", [RecursionError, MemoryError, SyntaxError])
def test_falls_back_to_the_closures_when_python_cannot_compile(
    site: SiteModel, functions: FunctionRegistry, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise error("too much")

    monkeypatch.setattr(codegen, "compile", refuse, raising=False)
    compiled = compile_expression("credit * 2 > 3 and count('lines') > 1", site, "customer", functions)
    assert not codegen.is_generated(compiled.fn)
    assert compiled.evaluate(DictContext({"credit": 2}, NOW, related={"lines": LINES})) is True
    with pytest.raises(codegen.CodegenUnavailable):
        codegen.generate(compiled.node, functions, {}, MAX_INT)


def test_falls_back_when_generating_recurses_too_deep(
    site: SiteModel, functions: FunctionRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    def too_deep(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError

    monkeypatch.setattr(codegen, "generate_module", too_deep)
    compiled = compile_expression("credit + 1", site, "customer", functions)
    assert not codegen.is_generated(compiled.fn)
    assert compiled.evaluate(DictContext({"credit": 1}, NOW)) == 2


def test_unknown_backend_is_refused(site: SiteModel, functions: FunctionRegistry) -> None:
    with pytest.raises(ValueError):
        compile_expression("1", site, "customer", functions, backend="eval")


def _nested(depth: int) -> list[str]:
    arithmetic = "credit"
    logic = "credit > 0"
    calls = "credit"
    for level in range(depth):
        arithmetic = f"({arithmetic} + {level}) * 1"
        logic = f"(credit > {level} {'and' if level % 2 else 'or'} {logic})"
        calls = f"coalesce({calls}, {level})"
    return [arithmetic, logic, calls, "not (" * (depth - 1) + "vip" + ")" * (depth - 1)]


@pytest.mark.parametrize(
    "text",
    [
        *_nested(MAX_DEPTH - 1),
        " + ".join(["credit"] * 200),
        " and ".join(["vip"] * 200),
        " or ".join([f"credit == {i}" for i in range(120)]),
        "2 ^ " * 150 + "1",
    ],
)
def test_maximally_nested_expressions_still_compile(
    site: SiteModel, functions: FunctionRegistry, text: str
) -> None:
    generated, closures = _both(site, functions, text)
    for record in ({"credit": 3, "vip": True}, {"credit": None, "vip": False}, {"credit": Decimal("0.5")}):
        assert _outcome(generated, record) == _outcome(closures, record)
