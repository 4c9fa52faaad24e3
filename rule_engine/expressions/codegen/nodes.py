"""Small builders of Python ``ast`` nodes for the generated functions, and the operand they pass around."""

from __future__ import annotations

import ast
from dataclasses import dataclass


class CodegenUnavailable(Exception):
    """The expression could not be turned into a Python function; the closure backend is used."""


@dataclass(frozen=True)
class Operand:
    """A generated value: a name or constant, what is known of its runtime class, whether a strict bool."""

    expr: ast.expr
    kind: type | None = None  # int / str when statically known (literals), else None
    strict_bool: bool = False  # always exactly True or False
    maybe_none: bool = True


def load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


def store(name: str) -> ast.Name:
    return ast.Name(name, ast.Store())


def arguments(*names: str) -> ast.arguments:
    return ast.arguments(
        posonlyargs=[],
        args=[ast.arg(name) for name in names],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )


def method(name: str, arg: ast.expr) -> ast.expr:
    return ast.Call(ast.Attribute(load("ctx"), name, ast.Load()), [arg], [])


def is_literal(operand: Operand) -> bool:
    return isinstance(operand.expr, ast.Constant) or (
        isinstance(operand.expr, ast.Subscript)
        and isinstance(operand.expr.value, ast.Name)
        and operand.expr.value.id == "_k"
    )


def index_of(expr: ast.expr) -> int:
    assert isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant)
    assert isinstance(expr.slice.value, int)
    return expr.slice.value


def type_of(expr: ast.expr) -> ast.expr:
    return ast.Call(load("_type"), [expr], [])


def any_none(exprs: list[ast.expr]) -> ast.expr:
    tests = [is_none(expr) for expr in exprs]
    return tests[0] if len(tests) == 1 else ast.BoolOp(ast.Or(), tests)


def is_none(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.Is()], [ast.Constant(None)])


def is_not_true(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.IsNot()], [ast.Constant(True)])


def is_true(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.Is()], [ast.Constant(True)])


def type_guard(left: Operand, right: Operand, kind: type) -> list[ast.expr] | None:
    """The type tests under which both operands are exactly ``kind``, or None when one cannot be."""
    tests: list[ast.expr] = []
    for operand in (left, right):
        if operand.kind is kind:
            continue
        if operand.kind is not None or isinstance(operand.expr, ast.Constant | ast.Subscript):
            return None  # a literal of another kind
        type_name = "_int" if kind is int else "_str"
        tests.append(ast.Compare(ast.Call(load("_type"), [operand.expr], []), [ast.Is()], [load(type_name)]))
    return tests


def all_of(tests: list[ast.expr]) -> ast.expr:
    return tests[0] if len(tests) == 1 else ast.BoolOp(ast.And(), tests)


__all__ = [
    "CodegenUnavailable",
    "Operand",
    "all_of",
    "any_none",
    "arguments",
    "index_of",
    "is_literal",
    "is_none",
    "is_not_true",
    "is_true",
    "load",
    "method",
    "store",
    "type_guard",
    "type_of",
]
