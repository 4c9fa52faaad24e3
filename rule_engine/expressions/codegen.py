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

The semantics are those of the closure backend in ``compiler.py`` (the tests compare the two). Fast
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
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any

from metamodel.model import EntityModel
from rule_engine.expressions.ast import Binary, Call, FieldRef, Literal, Node, Unary
from rule_engine.expressions.functions import AGGREGATES, FunctionRegistry
from rule_engine.expressions.values import converter

FILENAME = "<expression>"
_ORDERING_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_AST_COMPARE: dict[str, type[ast.cmpop]] = {
    "<": ast.Lt,
    "<=": ast.LtE,
    ">": ast.Gt,
    ">=": ast.GtE,
    "==": ast.Eq,
    "!=": ast.NotEq,
}
_AST_ARITHMETIC: dict[str, type[ast.operator]] = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult}
# Factory parameters: the tuples of objects and the builtins the fast paths test types with.
_FACTORY_PARAMS = ("_f", "_k", "_type", "_int", "_str", "_dict_context", "_errors", "_fail")
_SMALL_INT = 2**30 - 1  # results within this need no MAX_INT check (and compare fastest in CPython)
_FETCH = "_t0"  # the local holding the field reader: ``ctx.record.get`` for a DictContext, else ``ctx.value``


class CodegenUnavailable(Exception):
    """The expression could not be turned into a Python function; the closure backend is used."""


@dataclass(frozen=True)
class _Operand:
    """A generated value: a name or constant, what is known of its runtime class, whether a strict bool."""

    expr: ast.expr
    kind: type | None = None  # int / str when statically known (literals), else None
    strict_bool: bool = False  # always exactly True or False
    maybe_none: bool = True


def _helpers() -> dict[str, Callable[..., Any]]:
    """The generic (slow-path) operations, each exactly the body of the matching closure."""
    from rule_engine.expressions import compiler as c

    def arithmetic(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def compute(a: Any, b: Any) -> Any:
            if a is None or b is None:
                return None
            return c._checked_number(op(a, b))

        return compute

    def ordering(compare: Callable[[Any, Any], Any]) -> Callable[[Any, Any], bool]:
        def ordered(a: Any, b: Any) -> bool:
            if a is None or b is None:
                return False
            return bool(compare(*c._comparable(a, b)))

        return ordered

    def equality(equal: bool) -> Callable[[Any, Any], bool]:
        def same(a: Any, b: Any) -> bool:
            a, b = c._comparable(a, b)
            return (a == b) is equal

        return same

    def concat(a: Any, b: Any) -> Any:
        return c._add("" if a is None else str(a), "" if b is None else str(b))

    helpers: dict[str, Callable[..., Any]] = {op: arithmetic(fn) for op, fn in c._ARITHMETIC.items()}
    helpers.update({op: ordering(fn) for op, fn in _ORDERING_OPS.items()})
    helpers.update({"==": equality(True), "!=": equality(False), "||": concat, "check": c._checked_number})
    return helpers


class _Generator:
    """Walks a checked tree and emits statements; every value ends up in a ``_v``/``_t`` local or a constant.

    With ``record_model`` it emits the record function ``_expr(record, now)`` instead of ``_expr(ctx)``.
    """

    def __init__(
        self,
        registry: FunctionRegistry,
        specs: Mapping[int, Any],
        max_int: int,
        record_model: EntityModel | None = None,
    ) -> None:
        self.registry = registry
        self.specs = specs
        self.max_int = max_int
        self.record_model = record_model
        self.helpers = _helpers()
        self.objects: list[Any] = []  # _f: callables
        self.constants: list[Any] = []  # _k: values that are not Python constants, aggregate specs
        self._object_index: dict[int, int] = {}
        self.block: list[ast.stmt] = []
        self.fetched: dict[tuple[str, ...], str] = {}  # field path -> local holding it (on this code path)
        self.count = 0
        self.reads_fields = False

    # -- names and references -------------------------------------------------------------------------
    def _new(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def _object(self, obj: Any) -> ast.expr:
        index = self._object_index.get(id(obj))
        if index is None:
            index = self._object_index[id(obj)] = len(self.objects)
            self.objects.append(obj)
        return ast.Subscript(_load("_f"), ast.Constant(index), ast.Load())

    def _constant(self, value: Any) -> ast.expr:
        self.constants.append(value)
        return ast.Subscript(_load("_k"), ast.Constant(len(self.constants) - 1), ast.Load())

    def _assign(self, name: str, value: ast.expr) -> None:
        self.block.append(ast.Assign([_store(name)], value))

    def _branch(self, body: Callable[[], None]) -> list[ast.stmt]:
        """Emit ``body`` into a fresh block; fields fetched there are not known fetched after it."""
        saved_block, saved_fetched = self.block, dict(self.fetched)
        self.block = []
        try:
            body()
            return self.block
        finally:
            self.block, self.fetched = saved_block, saved_fetched

    # -- the tree -------------------------------------------------------------------------------------
    def module(self, node: Node) -> ast.Module:
        self._tail(node, strict=False)
        body = self.block
        if self.reads_fields and self.record_model is None:
            # DictContext.value(name) is record.get(name): call the dict's method directly.
            body.insert(
                0,
                ast.Assign(
                    [_store(_FETCH)],
                    ast.IfExp(
                        ast.Compare(
                            ast.Call(_load("_type"), [_load("ctx")], []), [ast.Is()], [_load("_dict_context")]
                        ),
                        ast.Attribute(ast.Attribute(_load("ctx"), "record", ast.Load()), "get", ast.Load()),
                        ast.Attribute(_load("ctx"), "value", ast.Load()),
                    ),
                ),
            )
        # The generated function is the expression's ``evaluate`` itself: it maps Python's arithmetic and
        # type errors to EvaluationError like CompiledExpression.evaluate does (try costs nothing in 3.11).
        guarded = ast.Try(
            body=body,
            handlers=[
                ast.ExceptHandler(
                    _load("_errors"), "_e", [ast.Return(ast.Call(_load("_fail"), [_load("_e")], []))]
                )
            ],
            orelse=[],
            finalbody=[],
        )
        params = ("record", "now") if self.record_model is not None else ("ctx",)
        function = ast.FunctionDef(
            name="_expr", args=_arguments(*params), body=[guarded], decorator_list=[], returns=None
        )
        factory = ast.FunctionDef(
            name="_make",
            args=_arguments(*_FACTORY_PARAMS),
            body=[function, ast.Return(_load("_expr"))],
            decorator_list=[],
            returns=None,
        )
        return ast.fix_missing_locations(ast.Module(body=[factory], type_ignores=[]))

    def _tail(self, node: Node, strict: bool) -> None:
        """Emit ``node`` whose value is returned: ``and``/``or`` there return as soon as they are decided."""
        if isinstance(node, Binary) and node.op in ("and", "or"):
            self._decide(node.left, node.op == "or")
            self._tail(node.right, strict=True)
            return
        if isinstance(node, Binary) and node.op in _ORDERING_OPS:
            self._compare(node, lambda value: [ast.Return(value)], [ast.Return(ast.Constant(False))])
            return
        result = self.emit(node)
        value = result.expr if result.strict_bool or not strict else _is_true(result.expr)
        self.block.append(ast.Return(value))

    def _decide(self, node: Node, decisive: bool) -> None:
        """Return ``decisive`` when ``node`` is True (``decisive``) or not True (not ``decisive``), else go on.

        In ``a and b and c`` every operand that is not True returns False at once; ``or`` alike.
        """
        if isinstance(node, Binary) and node.op == ("or" if decisive else "and"):
            self._decide(node.left, decisive)
            self._decide(node.right, decisive)
            return
        if isinstance(node, Binary) and node.op in _ORDERING_OPS:
            # The comparison decides in place: no intermediate result, and a null returns at once.
            decided: list[ast.stmt] = [ast.Return(ast.Constant(decisive))]
            if decisive:
                self._compare(node, lambda value: [ast.If(value, decided, [])], [])
            else:
                self._compare(
                    node, lambda value: [ast.If(ast.UnaryOp(ast.Not(), value), decided, [])], decided
                )
            return
        operand = self.emit(node)
        if decisive:
            test = operand.expr if operand.strict_bool else _is_true(operand.expr)
        else:
            test = ast.UnaryOp(ast.Not(), operand.expr) if operand.strict_bool else _is_not_true(operand.expr)
        self.block.append(ast.If(test, [ast.Return(ast.Constant(decisive))], []))

    def emit(self, node: Node) -> _Operand:
        if isinstance(node, Literal):
            return self._literal(node.value)
        if isinstance(node, FieldRef):
            return self._field(node.path)
        if isinstance(node, Unary):
            return self._unary(node)
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Call):
            if node.name in AGGREGATES:
                return self._aggregate(node)
            return self._call(node)
        raise CodegenUnavailable(f"unsupported node {type(node).__name__}")

    def _literal(self, value: Any) -> _Operand:
        if value is None:
            return _Operand(ast.Constant(None))
        if type(value) is bool:
            return _Operand(ast.Constant(value), strict_bool=True, maybe_none=False)
        if type(value) in (int, str):
            return _Operand(ast.Constant(value), kind=type(value), maybe_none=False)
        return _Operand(self._constant(value), maybe_none=False)  # Decimal and anything else: by reference

    def _field(self, path: tuple[str, ...]) -> _Operand:
        name = self.fetched.get(path)
        if name is None:
            name = self.fetched[path] = self._new("_v")
            if len(path) == 1 and self.record_model is not None:
                self._fetch_from_record(name, path[0], self.record_model)
                return _Operand(_load(name))
            if self.record_model is not None:
                raise CodegenUnavailable("a record function cannot follow links")
            if len(path) == 1:
                self.reads_fields = True
                fetch: ast.expr = ast.Call(_load(_FETCH), [ast.Constant(path[0])], [])
            else:
                # A tuple of names is a Python constant too (typeshed's Constant does not say so).
                fetch = _method("linked", ast.Constant(tuple(path)))  # type: ignore[arg-type]
            self._assign(name, fetch)
        return _Operand(_load(name))

    def _fetch_from_record(self, name: str, field: str, model: EntityModel) -> None:
        """``name = record[field]`` (null when missing), converted as a RecordContext converts it."""
        self.block.append(
            ast.Try(
                body=[
                    ast.Assign(
                        [_store(name)], ast.Subscript(_load("record"), ast.Constant(field), ast.Load())
                    )
                ],
                handlers=[
                    ast.ExceptHandler(
                        self._object(KeyError), None, [ast.Assign([_store(name)], ast.Constant(None))]
                    )
                ],
                orelse=[],
                finalbody=[],
            )
        )
        convert = converter(model, field)
        if convert is not None:
            self._assign(name, self._call_object(convert, _load(name)))

    def _unary(self, node: Unary) -> _Operand:
        operand = self.emit(node.operand)
        target = self._new("_t")
        if node.op == "not":
            self._assign(target, ast.Compare(operand.expr, [ast.IsNot()], [ast.Constant(True)]))
            return _Operand(_load(target), strict_bool=True, maybe_none=False)
        # Negation: null stays null; no range check (as in the closure backend).
        negated: ast.expr = ast.UnaryOp(ast.USub(), operand.expr)
        if operand.maybe_none:
            negated = ast.IfExp(
                _is_none(operand.expr), ast.Constant(None), ast.UnaryOp(ast.USub(), operand.expr)
            )
        self._assign(target, negated)
        return _Operand(
            _load(target), kind=operand.kind if operand.kind is int else None, maybe_none=operand.maybe_none
        )

    def _binary(self, node: Binary) -> _Operand:
        if node.op in ("and", "or"):
            return self._logical(node)
        left = self.emit(node.left)
        right = self.emit(node.right)
        op = node.op
        target = self._new("_t")
        if op in _AST_COMPARE:
            native = ast.Compare(left.expr, [_AST_COMPARE[op]()], [right.expr])
            generic = self._call_object(self.helpers[op], left.expr, right.expr)
            if op in ("==", "!="):
                self._assign(target, self._equality(left, right, op == "==", native, generic))
            else:

                def assign(value: ast.expr) -> list[ast.stmt]:
                    return [ast.Assign([_store(target)], value)]

                self._ordering(left, right, native, generic, assign, assign(ast.Constant(False)))
            return _Operand(_load(target), strict_bool=True, maybe_none=False)
        generic = self._call_object(self.helpers[op], left.expr, right.expr)
        guard = _guard(left, right, int) if op in _AST_ARITHMETIC else None
        if guard is None:
            self._assign(target, generic)
            return _Operand(_load(target))
        # int op int; _checked_number (MAX_INT) runs only when the result is not a small int.
        checked: list[ast.stmt] = [
            ast.Assign([_store(target)], ast.BinOp(left.expr, _AST_ARITHMETIC[op](), right.expr)),
            ast.If(
                ast.BoolOp(
                    ast.Or(),
                    [
                        ast.Compare(_load(target), [ast.Gt()], [ast.Constant(_SMALL_INT)]),
                        ast.Compare(_load(target), [ast.Lt()], [ast.Constant(-_SMALL_INT)]),
                    ],
                ),
                [ast.Assign([_store(target)], self._call_object(self.helpers["check"], _load(target)))],
                [],
            ),
        ]
        if guard:
            self.block.append(ast.If(_all(guard), checked, [ast.Assign([_store(target)], generic)]))
            return _Operand(_load(target))
        self.block.extend(checked)
        return _Operand(_load(target), kind=int, maybe_none=False)

    def _equality(
        self, left: _Operand, right: _Operand, equal: bool, native: ast.expr, generic: ast.expr
    ) -> ast.expr:
        """``==``/``!=``: natively when both values have the same class (no date meets a datetime then)."""
        if _is_literal(left) and _is_literal(right):
            return generic
        if _is_literal(right) or _is_literal(left):
            value, literal = (left, right) if _is_literal(right) else (right, left)
            if isinstance(literal.expr, ast.Constant) and literal.expr.value is None:
                # x == null: no builtin value but None equals None.
                return ast.Compare(value.expr, [ast.Is() if equal else ast.IsNot()], [ast.Constant(None)])
            cls = self._class_of(literal)
            same: ast.expr = ast.Compare(_type_of(value.expr), [ast.Is()], [cls])
        else:
            same = ast.Compare(_type_of(left.expr), [ast.Is()], [_type_of(right.expr)])
        return ast.IfExp(same, native, generic)

    def _compare(self, node: Binary, use: Callable[[ast.expr], list[ast.stmt]], null: list[ast.stmt]) -> None:
        """Emit an ordering comparison whose strict boolean value is consumed by the statements ``use`` makes.

        ``null`` runs instead when an operand is null (the comparison is False then); empty means go on.
        """
        left = self.emit(node.left)
        right = self.emit(node.right)
        native = ast.Compare(left.expr, [_AST_COMPARE[node.op]()], [right.expr])
        generic = self._call_object(self.helpers[node.op], left.expr, right.expr)
        self._ordering(left, right, native, generic, use, null)

    def _ordering(
        self,
        left: _Operand,
        right: _Operand,
        native: ast.expr,
        generic: ast.expr,
        use: Callable[[ast.expr], list[ast.stmt]],
        null: list[ast.stmt],
    ) -> None:
        """``<`` ... ``>=``: null is False; else natively, and the generic helper when Python refuses.

        Python compares ints, decimals, strings, dates and datetimes itself; it raises TypeError only
        where the helper differs (a null, a date against a datetime) or fails the same way.
        """
        attempt = ast.Try(
            body=use(native),
            handlers=[ast.ExceptHandler(self._object(TypeError), None, use(generic))],
            orelse=[],
            finalbody=[],
        )
        if left.kind is int and right.kind is int:
            self.block.extend(use(native))
            return
        nullable = [operand.expr for operand in (left, right) if operand.maybe_none]
        if not nullable:
            self.block.append(attempt)
        elif null:
            self.block.append(ast.If(_any_none(nullable), null, [attempt]))
        else:
            self.block.append(ast.If(ast.UnaryOp(ast.Not(), _any_none(nullable)), [attempt], []))

    def _class_of(self, literal: _Operand) -> ast.expr:
        if literal.kind is int:
            return _load("_int")
        if literal.kind is str:
            return _load("_str")
        value = (
            literal.expr.value
            if isinstance(literal.expr, ast.Constant)
            else self.constants[_index(literal.expr)]
        )
        return self._object(type(value))

    def _logical(self, node: Binary) -> _Operand:
        left = self.emit(node.left)
        target = self._new("_t")
        test = left.expr if left.strict_bool else _is_true(left.expr)

        def right_side() -> None:
            right = self.emit(node.right)
            self._assign(target, right.expr if right.strict_bool else _is_true(right.expr))

        right_block = self._branch(right_side)
        short: list[ast.stmt] = [ast.Assign([_store(target)], ast.Constant(node.op == "or"))]
        if node.op == "and":
            self.block.append(ast.If(test, right_block, short))
        else:
            self.block.append(ast.If(test, short, right_block))
        return _Operand(_load(target), strict_bool=True, maybe_none=False)

    def _call(self, node: Call) -> _Operand:
        function = self.registry.get(node.name)
        if function is None:  # the compiler has rejected this already
            raise CodegenUnavailable(f"unknown function {node.name!r}")
        args = [self.emit(arg) for arg in node.args]
        values = [arg.expr for arg in args]
        if function.needs_now:
            now = (
                _load("now")
                if self.record_model is not None
                else ast.Attribute(_load("ctx"), "now", ast.Load())
            )
            values.insert(0, now)
        call: ast.expr = self._call_object(function.impl, *values)
        nullable = [arg.expr for arg in args if arg.maybe_none]
        if not function.null_safe and nullable:
            test = (
                _is_none(nullable[0])
                if len(nullable) == 1
                else ast.BoolOp(ast.Or(), [_is_none(e) for e in nullable])
            )
            call = ast.IfExp(test, ast.Constant(None), call)
        target = self._new("_t")
        self._assign(target, call)
        return _Operand(_load(target))

    def _aggregate(self, node: Call) -> _Operand:
        spec = self.specs.get(id(node))
        if self.record_model is not None:
            raise CodegenUnavailable("a record function cannot aggregate")
        if spec is None:
            raise CodegenUnavailable("an aggregate without its compiled spec")
        target = self._new("_t")
        self._assign(target, _method("aggregate", self._constant(spec)))
        return _Operand(_load(target))

    def _call_object(self, obj: Any, *args: ast.expr) -> ast.expr:
        return ast.Call(self._object(obj), list(args), [])


def _load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


def _store(name: str) -> ast.Name:
    return ast.Name(name, ast.Store())


def _arguments(*names: str) -> ast.arguments:
    return ast.arguments(
        posonlyargs=[],
        args=[ast.arg(name) for name in names],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )


def _method(name: str, arg: ast.expr) -> ast.expr:
    return ast.Call(ast.Attribute(_load("ctx"), name, ast.Load()), [arg], [])


def _is_literal(operand: _Operand) -> bool:
    return isinstance(operand.expr, ast.Constant) or (
        isinstance(operand.expr, ast.Subscript)
        and isinstance(operand.expr.value, ast.Name)
        and operand.expr.value.id == "_k"
    )


def _index(expr: ast.expr) -> int:
    assert isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant)
    assert isinstance(expr.slice.value, int)
    return expr.slice.value


def _type_of(expr: ast.expr) -> ast.expr:
    return ast.Call(_load("_type"), [expr], [])


def _any_none(exprs: list[ast.expr]) -> ast.expr:
    tests = [_is_none(expr) for expr in exprs]
    return tests[0] if len(tests) == 1 else ast.BoolOp(ast.Or(), tests)


def _is_none(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.Is()], [ast.Constant(None)])


def _is_not_true(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.IsNot()], [ast.Constant(True)])


def _is_true(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.Is()], [ast.Constant(True)])


def _guard(left: _Operand, right: _Operand, kind: type) -> list[ast.expr] | None:
    """The type tests under which both operands are exactly ``kind``, or None when one cannot be."""
    tests: list[ast.expr] = []
    for operand in (left, right):
        if operand.kind is kind:
            continue
        if operand.kind is not None or isinstance(operand.expr, ast.Constant | ast.Subscript):
            return None  # a literal of another kind
        type_name = "_int" if kind is int else "_str"
        tests.append(
            ast.Compare(ast.Call(_load("_type"), [operand.expr], []), [ast.Is()], [_load(type_name)])
        )
    return tests


def _all(tests: list[ast.expr]) -> ast.expr:
    return tests[0] if len(tests) == 1 else ast.BoolOp(ast.And(), tests)


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
    generator = _Generator(registry, specs, max_int, record_model)
    module = generator.module(node)
    return module, tuple(generator.objects), tuple(generator.constants)


def build_function(
    module: ast.Module, objects: tuple[Any, ...], constants: tuple[Any, ...]
) -> Callable[..., Any]:
    """Compile a module made by ``generate_module`` and return its ``_expr`` function."""
    try:
        code = compile(module, FILENAME, "exec", dont_inherit=True)
    except (RecursionError, MemoryError, SyntaxError, ValueError) as exc:
        raise CodegenUnavailable(
            f"Python cannot compile the generated function: {type(exc).__name__}"
        ) from None
    factory_code = next(c for c in code.co_consts if isinstance(c, CodeType) and c.co_name == "_make")
    # No exec: the factory is built from its code object and runs with empty builtins.
    factory = FunctionType(factory_code, {"__builtins__": {}})
    from rule_engine.expressions.compiler import EVALUATION_ERRORS, evaluation_failed
    from rule_engine.expressions.context import DictContext

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


def is_generated(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is a function made here (rather than a closure of the closure backend)."""
    code = getattr(fn, "__code__", None)
    return code is not None and code.co_filename == FILENAME and code.co_name == "_expr"


__all__ = ["FILENAME", "CodegenUnavailable", "build_function", "generate", "generate_module", "is_generated"]
