"""Generating one Python function per checked expression: the fast evaluation backend.

The expression tree, already type-checked by the compiler, is translated into a Python ``ast.Module``
(never into source text) that defines ``def _expr(ctx): ...``; it is compiled with ``compile()`` and
the function is built from the code object. An expression that follows no links and aggregates
nothing also gets a *record function* ``def _expr(record, now): ...`` reading the record mapping
directly (``record[name]``, null when missing, converted as ``RecordContext.value`` converts it), so
no context object is built per evaluation. The rules that keep the language safe:

* no text of the expression ever becomes Python source or a Python name: field names are only
  ``ast.Constant`` arguments of ``ctx.value(...)`` / ``ctx.linked(...)`` or subscripts of ``record``,
  literals only ``ast.Constant`` (or ``_k[i]`` from a constants tuple);
* registry functions, aggregate specs and helpers are reached only through the closed-over tuples
  ``_f`` and ``_k``; the function runs with empty builtins;
* the only names are ``ctx`` (or ``record`` and ``now``), ``_f``, ``_k``, ``_type``, ``_int``, ``_str``,
  ``_dict_context``, ``_errors``, ``_fail`` (the error mapping), ``_e`` (the caught error) and locals
  ``_v<N>`` (a field fetched once per code path) and ``_t<N>`` (an intermediate result; ``_t0`` holds the
  field reader).

The semantics are those of the closure backend in ``compiler.py`` (the tests compare the two), and the
slow paths call the same functions of ``operations.py``. ``generator`` walks the tree, ``nodes`` builds
the ``ast`` nodes, this module compiles the result. Fast
paths: ``+ - *`` on two ints (the MAX_INT check only for results beyond a small int); ``==``/``!=`` natively
when both values have the same class; ordering natively after the null test, with the generic helper when
Python raises TypeError (a date against a datetime, or a genuine error the helper raises again); an
ordering that decides an ``and``/``or`` or is returned is tested in place, without an intermediate. Every
other case goes to the very helpers the closure backend uses. A DictContext's record is read with
``record.get`` (what ``DictContext.value`` does). ``and``/``or`` become ``if`` statements (returns at the
top level), so a field read only on one side is fetched only when that side runs, as before. The fast
paths assume what records hold: Python's numbers, strings, dates, booleans, lists, dicts and None,
whose comparisons return plain booleans.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from types import CodeType, FunctionType
from typing import Any

from metamodel.model import EntityModel
from rule_engine.expressions.ast import Node
from rule_engine.expressions.codegen.generator import Generator
from rule_engine.expressions.codegen.nodes import CodegenUnavailable
from rule_engine.expressions.compiled import GENERATED_FILENAME, is_generated
from rule_engine.expressions.context import DictContext
from rule_engine.expressions.functions import FunctionRegistry
from rule_engine.expressions.operations import EVALUATION_ERRORS, evaluation_failed

FILENAME = GENERATED_FILENAME


def generate_module(
    node: Node,
    registry: FunctionRegistry,
    specs: Mapping[int, Any],
    max_int: int,
    record_model: EntityModel | None = None,
) -> tuple[ast.Module, tuple[Any, ...], tuple[Any, ...]]:
    """Return the module defining the function for ``node``, and its ``_f`` and ``_k`` tuples.

    With ``record_model``, the function is the record function ``_expr(record, now)`` of that entity.
    """
    generator = Generator(registry, specs, max_int, record_model)
    module = generator.module(node)
    return module, tuple(generator.objects), tuple(generator.constants)


def build_function(
    module: ast.Module, objects: tuple[Any, ...], constants: tuple[Any, ...]
) -> Callable[..., Any]:
    """Compile a module made by ``generate_module`` and return its ``_expr`` function."""
    try:
        code = compile(module, GENERATED_FILENAME, "exec", dont_inherit=True)
    except (RecursionError, MemoryError, SyntaxError, ValueError) as exc:
        raise CodegenUnavailable(
            f"Python cannot compile the generated function: {type(exc).__name__}"
        ) from None
    factory_code = next(c for c in code.co_consts if isinstance(c, CodeType) and c.co_name == "_make")
    # No exec: the factory is built from its code object and runs with empty builtins.
    factory = FunctionType(factory_code, {"__builtins__": {}})
    function: Callable[..., Any] = factory(
        objects, constants, type, int, str, DictContext, EVALUATION_ERRORS, evaluation_failed
    )
    return function


def generate(
    node: Node,
    registry: FunctionRegistry,
    specs: Mapping[int, Any],
    max_int: int,
    record_model: EntityModel | None = None,
) -> Callable[..., Any]:
    """Return a Python function evaluating ``node`` (checked by the compiler); CodegenUnavailable if impossible.

    Without ``record_model`` it is ``fn(ctx)`` over an evaluation context; with it, ``fn(record, now)``
    reading the record mapping directly (the expression must follow no links and aggregate nothing).
    """
    try:
        module, objects, constants = generate_module(node, registry, specs, max_int, record_model)
    except RecursionError:
        raise CodegenUnavailable("the expression is nested too deeply to generate code for") from None
    return build_function(module, objects, constants)


__all__ = [
    "FILENAME",
    "CodegenUnavailable",
    "build_function",
    "generate",
    "generate_module",
    "is_generated",
]
