"""The generator: walks a checked expression tree and emits the statements of one Python function."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

from metamodel.model import EntityModel
from rule_engine.expressions.ast import Binary, Call, FieldRef, Literal, Node, Unary
from rule_engine.expressions.codegen.nodes import (
    CodegenUnavailable,
    Operand,
    all_of,
    any_none,
    arguments,
    index_of,
    is_literal,
    is_none,
    is_not_true,
    is_true,
    load,
    method,
    store,
    type_guard,
    type_of,
)
from rule_engine.expressions.functions import AGGREGATES, FunctionRegistry
from rule_engine.expressions.operations import binary_operations
from rule_engine.expressions.values import converter

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
FACTORY_PARAMS = ("_f", "_k", "_type", "_int", "_str", "_dict_context", "_errors", "_fail")
_SMALL_INT = 2**30 - 1  # results within this need no MAX_INT check (and compare fastest in CPython)
_FETCH = "_t0"  # the local holding the field reader: ``ctx.record.get`` for a DictContext, else ``ctx.value``
# The generic (slow-path) operations: the very functions the closure backend's operators run.
_GENERIC = binary_operations()


class Generator:
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
        self.helpers = _GENERIC
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
        return ast.Subscript(load("_f"), ast.Constant(index), ast.Load())

    def _constant(self, value: Any) -> ast.expr:
        self.constants.append(value)
        return ast.Subscript(load("_k"), ast.Constant(len(self.constants) - 1), ast.Load())

    def _assign(self, name: str, value: ast.expr) -> None:
        self.block.append(ast.Assign([store(name)], value))

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
                    [store(_FETCH)],
                    ast.IfExp(
                        ast.Compare(
                            ast.Call(load("_type"), [load("ctx")], []), [ast.Is()], [load("_dict_context")]
                        ),
                        ast.Attribute(ast.Attribute(load("ctx"), "record", ast.Load()), "get", ast.Load()),
                        ast.Attribute(load("ctx"), "value", ast.Load()),
                    ),
                ),
            )
        # The generated function is the expression's ``evaluate`` itself: it maps Python's arithmetic and
        # type errors to EvaluationError like CompiledExpression.evaluate does (try costs nothing in 3.11).
        guarded = ast.Try(
            body=body,
            handlers=[
                ast.ExceptHandler(
                    load("_errors"), "_e", [ast.Return(ast.Call(load("_fail"), [load("_e")], []))]
                )
            ],
            orelse=[],
            finalbody=[],
        )
        params = ("record", "now") if self.record_model is not None else ("ctx",)
        function = ast.FunctionDef(
            name="_expr", args=arguments(*params), body=[guarded], decorator_list=[], returns=None
        )
        factory = ast.FunctionDef(
            name="_make",
            args=arguments(*FACTORY_PARAMS),
            body=[function, ast.Return(load("_expr"))],
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
        value = result.expr if result.strict_bool or not strict else is_true(result.expr)
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
            test = operand.expr if operand.strict_bool else is_true(operand.expr)
        else:
            test = ast.UnaryOp(ast.Not(), operand.expr) if operand.strict_bool else is_not_true(operand.expr)
        self.block.append(ast.If(test, [ast.Return(ast.Constant(decisive))], []))

    def emit(self, node: Node) -> Operand:
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

    def _literal(self, value: Any) -> Operand:
        if value is None:
            return Operand(ast.Constant(None))
        if type(value) is bool:
            return Operand(ast.Constant(value), strict_bool=True, maybe_none=False)
        if type(value) in (int, str):
            return Operand(ast.Constant(value), kind=type(value), maybe_none=False)
        return Operand(self._constant(value), maybe_none=False)  # Decimal and anything else: by reference

    def _field(self, path: tuple[str, ...]) -> Operand:
        name = self.fetched.get(path)
        if name is None:
            name = self.fetched[path] = self._new("_v")
            if len(path) == 1 and self.record_model is not None:
                self._fetch_from_record(name, path[0], self.record_model)
                return Operand(load(name))
            if self.record_model is not None:
                raise CodegenUnavailable("a record function cannot follow links")
            if len(path) == 1:
                self.reads_fields = True
                fetch: ast.expr = ast.Call(load(_FETCH), [ast.Constant(path[0])], [])
            else:
                # A tuple of names is a Python constant too (typeshed's Constant does not say so).
                fetch = method("linked", ast.Constant(tuple(path)))  # type: ignore[arg-type]
            self._assign(name, fetch)
        return Operand(load(name))

    def _fetch_from_record(self, name: str, field: str, model: EntityModel) -> None:
        """``name = record[field]`` (null when missing), converted as a RecordContext converts it."""
        self.block.append(
            ast.Try(
                body=[
                    ast.Assign([store(name)], ast.Subscript(load("record"), ast.Constant(field), ast.Load()))
                ],
                handlers=[
                    ast.ExceptHandler(
                        self._object(KeyError), None, [ast.Assign([store(name)], ast.Constant(None))]
                    )
                ],
                orelse=[],
                finalbody=[],
            )
        )
        convert = converter(model, field)
        if convert is not None:
            self._assign(name, self._call_object(convert, load(name)))

    def _unary(self, node: Unary) -> Operand:
        operand = self.emit(node.operand)
        target = self._new("_t")
        if node.op == "not":
            self._assign(target, ast.Compare(operand.expr, [ast.IsNot()], [ast.Constant(True)]))
            return Operand(load(target), strict_bool=True, maybe_none=False)
        # Negation: null stays null; no range check (as in the closure backend).
        negated: ast.expr = ast.UnaryOp(ast.USub(), operand.expr)
        if operand.maybe_none:
            negated = ast.IfExp(
                is_none(operand.expr), ast.Constant(None), ast.UnaryOp(ast.USub(), operand.expr)
            )
        self._assign(target, negated)
        return Operand(
            load(target), kind=operand.kind if operand.kind is int else None, maybe_none=operand.maybe_none
        )

    def _binary(self, node: Binary) -> Operand:
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
                    return [ast.Assign([store(target)], value)]

                self._ordering(left, right, native, generic, assign, assign(ast.Constant(False)))
            return Operand(load(target), strict_bool=True, maybe_none=False)
        generic = self._call_object(self.helpers[op], left.expr, right.expr)
        guard = type_guard(left, right, int) if op in _AST_ARITHMETIC else None
        if guard is None:
            self._assign(target, generic)
            return Operand(load(target))
        # int op int; _checked_number (MAX_INT) runs only when the result is not a small int.
        checked: list[ast.stmt] = [
            ast.Assign([store(target)], ast.BinOp(left.expr, _AST_ARITHMETIC[op](), right.expr)),
            ast.If(
                ast.BoolOp(
                    ast.Or(),
                    [
                        ast.Compare(load(target), [ast.Gt()], [ast.Constant(_SMALL_INT)]),
                        ast.Compare(load(target), [ast.Lt()], [ast.Constant(-_SMALL_INT)]),
                    ],
                ),
                [ast.Assign([store(target)], self._call_object(self.helpers["check"], load(target)))],
                [],
            ),
        ]
        if guard:
            self.block.append(ast.If(all_of(guard), checked, [ast.Assign([store(target)], generic)]))
            return Operand(load(target))
        self.block.extend(checked)
        return Operand(load(target), kind=int, maybe_none=False)

    def _equality(
        self, left: Operand, right: Operand, equal: bool, native: ast.expr, generic: ast.expr
    ) -> ast.expr:
        """``==``/``!=``: natively when both values have the same class (no date meets a datetime then)."""
        if is_literal(left) and is_literal(right):
            return generic
        if is_literal(right) or is_literal(left):
            value, literal = (left, right) if is_literal(right) else (right, left)
            if isinstance(literal.expr, ast.Constant) and literal.expr.value is None:
                # x == null: no builtin value but None equals None.
                return ast.Compare(value.expr, [ast.Is() if equal else ast.IsNot()], [ast.Constant(None)])
            cls = self._class_of(literal)
            same: ast.expr = ast.Compare(type_of(value.expr), [ast.Is()], [cls])
        else:
            same = ast.Compare(type_of(left.expr), [ast.Is()], [type_of(right.expr)])
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
        left: Operand,
        right: Operand,
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
            self.block.append(ast.If(any_none(nullable), null, [attempt]))
        else:
            self.block.append(ast.If(ast.UnaryOp(ast.Not(), any_none(nullable)), [attempt], []))

    def _class_of(self, literal: Operand) -> ast.expr:
        if literal.kind is int:
            return load("_int")
        if literal.kind is str:
            return load("_str")
        value = (
            literal.expr.value
            if isinstance(literal.expr, ast.Constant)
            else self.constants[index_of(literal.expr)]
        )
        return self._object(type(value))

    def _logical(self, node: Binary) -> Operand:
        left = self.emit(node.left)
        target = self._new("_t")
        test = left.expr if left.strict_bool else is_true(left.expr)

        def right_side() -> None:
            right = self.emit(node.right)
            self._assign(target, right.expr if right.strict_bool else is_true(right.expr))

        right_block = self._branch(right_side)
        short: list[ast.stmt] = [ast.Assign([store(target)], ast.Constant(node.op == "or"))]
        if node.op == "and":
            self.block.append(ast.If(test, right_block, short))
        else:
            self.block.append(ast.If(test, short, right_block))
        return Operand(load(target), strict_bool=True, maybe_none=False)

    def _call(self, node: Call) -> Operand:
        function = self.registry.get(node.name)
        if function is None:  # the compiler has rejected this already
            raise CodegenUnavailable(f"unknown function {node.name!r}")
        args = [self.emit(arg) for arg in node.args]
        values = [arg.expr for arg in args]
        if function.needs_now:
            now = (
                load("now")
                if self.record_model is not None
                else ast.Attribute(load("ctx"), "now", ast.Load())
            )
            values.insert(0, now)
        call: ast.expr = self._call_object(function.impl, *values)
        nullable = [arg.expr for arg in args if arg.maybe_none]
        if not function.null_safe and nullable:
            test = (
                is_none(nullable[0])
                if len(nullable) == 1
                else ast.BoolOp(ast.Or(), [is_none(e) for e in nullable])
            )
            call = ast.IfExp(test, ast.Constant(None), call)
        target = self._new("_t")
        self._assign(target, call)
        return Operand(load(target))

    def _aggregate(self, node: Call) -> Operand:
        spec = self.specs.get(id(node))
        if self.record_model is not None:
            raise CodegenUnavailable("a record function cannot aggregate")
        if spec is None:
            raise CodegenUnavailable("an aggregate without its compiled spec")
        target = self._new("_t")
        self._assign(target, method("aggregate", self._constant(spec)))
        return Operand(load(target))

    def _call_object(self, obj: Any, *args: ast.expr) -> ast.expr:
        return ast.Call(self._object(obj), list(args), [])


__all__ = ["FACTORY_PARAMS", "Generator"]
