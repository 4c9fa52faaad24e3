"""The record function (``evaluate_record``): what a RecordContext over the same mapping gives, without one."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from metamodel.model import SiteModel
from rule_engine.expressions import FunctionRegistry, RecordContext, codegen, compile_expression
from rule_engine.expressions.compiler import MAX_INT, CompiledExpression
from tests.rule_engine.expressions.conftest import NOW
from tests.rule_engine.expressions.test_codegen import (
    ALLOWED_NAMES,
    EXPRESSIONS,
    HOSTILE_TEXT,
    RECORDS,
    TODAY,
    _check_generated_module,
)

# JSON-form values, as the runtime hands records over: a RecordContext converts them, so must the function.
JSON_RECORDS: list[dict[str, Any]] = [
    {"credit": "2.50", "born": "2026-03-10", "seen_at": "2026-03-10T12:00:00Z", "name": "a"},
    {"credit": 3, "born": "2000-01-01T00:00:00", "seen_at": "2026-03-10T12:00:00+00:00", "vip": True},
    {"credit": None, "born": None, "seen_at": None, "name": None, "vip": None},
    {"credit": "not a number", "born": "2026-03-10"},
]


def _outcome(evaluate: Any, *args: Any) -> tuple[str, str]:
    try:
        value = evaluate(*args)
    except Exception as exc:  # EvaluationError, or what a function raises unmapped (as with a context)
        return f"raised {type(exc).__name__}", str(exc)
    return type(value).__name__, repr(value)


def _reference(
    engine: Engine, site: SiteModel, compiled: CompiledExpression, record: dict[str, Any]
) -> tuple[str, str]:
    with engine.connect() as conn:
        return _outcome(compiled.evaluate, RecordContext(conn, site, "customer", record, NOW))


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_record_function_agrees_with_a_record_context(
    engine: Engine, site: SiteModel, functions: FunctionRegistry, text: str
) -> None:
    generated = compile_expression(text, site, "customer", functions)
    closures = compile_expression(text, site, "customer", functions, backend="closures")
    assert generated.record_only == closures.record_only == (not generated.aggregates)
    if not generated.record_only:
        assert generated.record_fn is None
        with pytest.raises(TypeError):
            generated.evaluate_record({}, NOW)
        return
    assert generated.record_fn is not None and codegen.is_generated(generated.record_fn)
    assert closures.record_fn is None
    for record in [*RECORDS, *JSON_RECORDS]:
        expected = _reference(engine, site, closures, record)
        assert _outcome(generated.evaluate_record, record, NOW) == expected, (text, record)
        assert _outcome(closures.evaluate_record, record, NOW) == expected, (text, record)


def test_nulls_and_missing_fields(site: SiteModel, functions: FunctionRegistry) -> None:
    def value(text: str, record: dict[str, Any]) -> Any:
        return compile_expression(text, site, "customer", functions).evaluate_record(record, NOW)

    for record in ({}, {"credit": None}):
        assert value("credit > 1", record) is False
        assert value("credit > 1 or vip", record) is False
        assert value("not (credit > 1)", record) is True
        assert value("credit + 1", record) is None
        assert value("coalesce(credit, 0) + 1", record) == 1
        assert value("credit == null", record) is True
        assert value("abs(credit)", record) is None
    assert value("credit > 1 and credit < 3", {"credit": 2}) is True
    assert value("credit < 1 or credit > 3", {"credit": 2}) is False


def test_json_form_values_are_converted(site: SiteModel, functions: FunctionRegistry) -> None:
    record = {"credit": "2.50", "born": "2026-03-10", "seen_at": "2026-03-10T12:00:00Z"}
    compiled = compile_expression("credit * 2", site, "customer", functions)
    assert compiled.evaluate_record(record, NOW) == Decimal("5.00")
    assert (
        compile_expression(
            "born == today() and seen_at == now()", site, "customer", functions
        ).evaluate_record(record, NOW)
        is True
    )
    assert (
        compile_expression("days_since(born)", site, "customer", functions).evaluate_record(
            {"born": TODAY - dt.timedelta(days=3)}, NOW
        )
        == 3
    )


def test_links_and_aggregates_need_a_context(site: SiteModel, functions: FunctionRegistry) -> None:
    linked = compile_expression("customer.tier == 'gold' and total > 1", site, "purchase", functions)
    assert not linked.record_only and linked.record_fn is None
    with pytest.raises(TypeError):
        linked.evaluate_record({"total": 2}, NOW)
    with pytest.raises(codegen.CodegenUnavailable):
        codegen.generate(linked.node, functions, {}, MAX_INT, site.entity("purchase"))
    assert compile_expression("total > 1", site, "purchase", functions).record_only


def test_record_function_text_is_only_data(site: SiteModel, functions: FunctionRegistry) -> None:
    text = 'name == "' + HOSTILE_TEXT + '" or credit > 2'
    compiled = compile_expression(text, site, "customer", functions)
    module, _, _ = codegen.generate_module(compiled.node, functions, {}, MAX_INT, site.entity("customer"))
    assert ALLOWED_NAMES.match("record") and ALLOWED_NAMES.match("now")
    _check_generated_module(module, {"name", "credit", HOSTILE_TEXT})
    subscripts = [
        item
        for item in ast.walk(module)
        if isinstance(item, ast.Subscript) and isinstance(item.value, ast.Name) and item.value.id == "record"
    ]
    assert {s.slice.value for s in subscripts if isinstance(s.slice, ast.Constant)} == {"name", "credit"}
    assert compiled.record_fn is not None and compiled.record_fn.__globals__ == {"__builtins__": {}}
    assert compiled.evaluate_record({"name": HOSTILE_TEXT}, NOW) is True
    assert compiled.evaluate_record({"name": "x", "credit": 3}, NOW) is True
