"""Benchmark of expression evaluation: our compiled expressions against the two obvious alternatives.

A typical validation rule is evaluated many times over varying records, three ways in one run:
compiled once by ``rule_engine.expressions`` and evaluated per record; parsed and evaluated per call
by plain py-expression-eval (what a naive rule engine does); and a hand-written Python function.
The sides alternate in order over several rounds and the median ratio is reported.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from py_expression_eval import Parser

from bench.core import Context, Figure, median, quiet_gc
from metamodel.definitions import Bundle
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.model import SiteModel
from rule_engine.expressions import (
    FunctionRegistry,
    compile_expression,
    register_builtin_functions,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
# Valid in both languages: the order's amount is positive, the discount at most 30%, at least one item.
RULE = "amount > 0 and discount * 10 <= amount * 3 and qty >= 1"
SPEEDUP_TARGET = 10.0  # compiled vs parse-and-evaluate per call: at least this much faster
HAND_WRITTEN_TARGET = 3.0  # compiled vs hand-written Python: at most this much slower
ROUNDS = 7
ENTITY = {
    "name": "sale",
    "fields": [
        {"name": "amount", "type": "integer"},
        {"name": "discount", "type": "integer"},
        {"name": "qty", "type": "integer"},
    ],
}


def _records(count: int) -> list[dict[str, Any]]:
    return [{"amount": 100 + i % 50, "discount": i % 40, "qty": i % 3} for i in range(count)]


def _hand_written(record: dict[str, Any]) -> bool:
    amount, discount, qty = record["amount"], record["discount"], record["qty"]
    return amount > 0 and discount * 10 <= amount * 3 and qty >= 1


def _timed(fn: Callable[[dict[str, Any]], Any], records: list[dict[str, Any]]) -> tuple[float, list[Any]]:
    with quiet_gc():
        started = time.perf_counter()
        results = [fn(record) for record in records]
        return time.perf_counter() - started, results


def run(ctx: Context) -> list[Figure]:
    """Return the two ratios (and the per-call times) for evaluating ``RULE``."""
    field_types = register_builtin_field_types(FieldTypeRegistry())
    site = SiteModel(0, Bundle.from_json({"entity": {"sale": ENTITY}}), field_types)
    compiled = compile_expression(RULE, site, "sale", register_builtin_functions(FunctionRegistry()))
    parser = Parser()
    sides: dict[str, Callable[[dict[str, Any]], Any]] = {
        # What the record runtime does for a rule that reads only the record's own fields.
        "compiled": lambda record: compiled.evaluate_record(record, NOW),
        "parse_each_call": lambda record: parser.parse(RULE).evaluate(record),
        "hand_written": _hand_written,
    }
    records = _records(2_000 if ctx.quick else 10_000)
    expected = [_hand_written(record) for record in records]
    times: dict[str, list[float]] = {name: [] for name in sides}
    for round_no in range(ROUNDS):
        order = list(sides) if round_no % 2 == 0 else list(reversed(sides))
        for name in order:
            elapsed, results = _timed(sides[name], records)
            if [bool(r) for r in results] != expected:
                raise AssertionError(f"{name} disagrees with the hand-written rule")
            times[name].append(elapsed)
    per_call = {name: median(values) / len(records) * 1e6 for name, values in times.items()}
    speedup = median([p / c for p, c in zip(times["parse_each_call"], times["compiled"], strict=True)])
    overhead = median([c / h for c, h in zip(times["compiled"], times["hand_written"], strict=True)])
    return [
        Figure(
            "expressions.compiled_speedup_vs_parse_each_call", round(speedup, 1), "x", SPEEDUP_TARGET, ">="
        ),
        Figure(
            "expressions.compiled_vs_hand_written_ratio", round(overhead, 2), "x", HAND_WRITTEN_TARGET, "<="
        ),
        Figure("expressions.compiled_per_call", round(per_call["compiled"], 2), "us"),
        Figure("expressions.parse_each_call_per_call", round(per_call["parse_each_call"], 2), "us"),
        Figure("expressions.hand_written_per_call", round(per_call["hand_written"], 2), "us"),
    ]
