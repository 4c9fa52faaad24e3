"""Type-checking and compiling expression trees into Python functions (no eval, no exec).

Type-checking builds nested closures (the reference backend); the checked tree is then translated by
``codegen`` into one generated Python function, which is what runs. When Python cannot compile the
generated function, the closures run instead. An expression that reads only its own record's fields
(no links, no aggregates) also gets a record function, ``evaluate_record(record, now)``: the runtime's
path for such expressions, with no context object per evaluation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from metamodel.model import EntityModel, SiteModel
from rule_engine.expressions import codegen
from rule_engine.expressions.ast import Binary, Call, FieldRef, Literal, Node, Unary
from rule_engine.expressions.compiled import AggregateSpec, CompiledExpression, Fn
from rule_engine.expressions.errors import ExpressionError
from rule_engine.expressions.functions import AGGREGATES, DATE_PRESERVING, Function, FunctionRegistry
from rule_engine.expressions.operations import MAX_INT, ORDERING, binary_operations, negate
from rule_engine.expressions.parser import parse
from rule_engine.expressions.types import (
    ANY,
    BOOLEAN,
    DATE,
    DATETIME,
    FIELD_TYPE_TYPES,
    LIST,
    NUMBER,
    STRING,
    SYSTEM_COLUMN_TYPES,
    compatible,
)

MAX_LINK_HOPS = 3
# The value-level operation of each binary operator: the same functions the generated code falls back on.
_OPERATIONS = binary_operations()


@dataclass
class _Scope:
    site: SiteModel
    model: EntityModel
    registry: FunctionRegistry
    fields_used: set[str]
    aggregates: list[AggregateSpec]
    specs: dict[int, AggregateSpec] = field(default_factory=dict)  # id(aggregate call node) -> its spec
    follows_links: bool = False


BACKENDS = ("codegen", "closures")


def compile_expression(
    text: str, site: SiteModel, entity: str, registry: FunctionRegistry, *, backend: str = "codegen"
) -> CompiledExpression:
    """Parse, type-check and compile ``text`` in the context of ``entity``.

    ``backend`` "codegen" (the default) runs a generated Python function, falling back to the closures
    when Python cannot compile it; "closures" runs the closures the type-checker built.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown expression backend {backend!r}")
    node = parse(text)
    scope = _Scope(site, site.entity(entity), registry, set(), [])
    fn, result = _compile(node, scope)
    record_only = not scope.follows_links and not scope.aggregates
    record_fn = None
    if backend == "codegen":
        try:
            fn = codegen.generate(node, registry, scope.specs, MAX_INT)
            if record_only:
                record_fn = codegen.generate(node, registry, scope.specs, MAX_INT, scope.model)
        except codegen.CodegenUnavailable:
            pass  # keep the closures: same results, only slower
    return CompiledExpression(
        text,
        entity,
        result,
        scope.fields_used,
        node,
        fn,
        scope.aggregates,
        record_only,
        record_fn,
        scope.model,
    )


def field_type_of(
    site: SiteModel, model: EntityModel, path: tuple[str, ...], pos: int
) -> tuple[str, EntityModel]:
    """Return the expression type of a (possibly dotted) field path and the entity holding its last part."""
    if len(path) > MAX_LINK_HOPS + 1:
        raise ExpressionError(f"'{'.'.join(path)}' follows too many links", pos)
    current = model
    for hop in path[:-1]:
        definition = current.fields.get(hop)
        if definition is None or definition.type != "link":
            raise ExpressionError(f"'{hop}' is not a link field of {current.name}", pos)
        current = site.entity(str(definition.get("target")))
    name = path[-1]
    definition = current.fields.get(name)
    if definition is not None:
        if definition.type == "child_table":
            raise ExpressionError(f"'{name}' is a child table; use count(\"{name}\") or sum(...)", pos)
        return FIELD_TYPE_TYPES.get(definition.type, ANY), current
    if name in SYSTEM_COLUMN_TYPES and name in current.table.c:
        return SYSTEM_COLUMN_TYPES[name], current
    raise ExpressionError(f"unknown field '{'.'.join(path)}'", pos)


def _compile(node: Node, scope: _Scope) -> tuple[Fn, str]:
    if isinstance(node, Literal):
        value = node.value
        kind = (
            ANY
            if value is None
            else BOOLEAN
            if isinstance(value, bool)
            else STRING
            if isinstance(value, str)
            else NUMBER
        )
        return (lambda _ctx: value), kind
    if isinstance(node, FieldRef):
        kind, _ = field_type_of(scope.site, scope.model, node.path, node.pos)
        scope.fields_used.add(".".join(node.path))
        if len(node.path) == 1:
            name = node.path[0]
            return (lambda ctx: ctx.value(name)), kind
        scope.follows_links = True
        path = node.path
        return (lambda ctx: ctx.linked(path)), kind
    if isinstance(node, Unary):
        return _unary(node, scope)
    if isinstance(node, Binary):
        return _binary(node, scope)
    if isinstance(node, Call):
        if node.name in AGGREGATES:
            return _aggregate(node, scope)
        return _call(node, scope)
    raise ExpressionError("unsupported expression", node.pos)


def _unary(node: Unary, scope: _Scope) -> tuple[Fn, str]:
    fn, kind = _compile(node.operand, scope)
    if node.op == "not":
        _expect(kind, BOOLEAN, "not", node.pos)
        return (lambda ctx: fn(ctx) is not True), BOOLEAN
    _expect(kind, NUMBER, "-", node.pos)
    return (lambda ctx: negate(fn(ctx))), NUMBER


def _expect(actual: str, expected: str, what: str, pos: int) -> None:
    if not compatible(actual, expected):
        raise ExpressionError(f"{what} expects {expected}, got {actual}", pos)


def _binary(node: Binary, scope: _Scope) -> tuple[Fn, str]:
    left, left_type = _compile(node.left, scope)
    right, right_type = _compile(node.right, scope)
    op = node.op
    if op in ("and", "or"):
        _expect(left_type, BOOLEAN, op, node.pos)
        _expect(right_type, BOOLEAN, op, node.pos)
        if op == "and":
            return (lambda ctx: left(ctx) is True and right(ctx) is True), BOOLEAN
        return (lambda ctx: left(ctx) is True or right(ctx) is True), BOOLEAN
    result = _binary_type(op, left_type, right_type, node.pos)
    apply = _OPERATIONS[op]
    return (lambda ctx: apply(left(ctx), right(ctx))), result


def _binary_type(op: str, left_type: str, right_type: str, pos: int) -> str:
    """The result type of a binary operator other than ``and``/``or``; ExpressionError on a mismatch."""
    if op == "||":
        return STRING
    if op in ("==", "!=") or op in ORDERING:
        _same_kind(left_type, right_type, op, pos)
        return BOOLEAN
    if op == "+" and STRING in (left_type, right_type):
        _expect(left_type, STRING, "+", pos)
        _expect(right_type, STRING, "+", pos)
        return STRING
    _expect(left_type, NUMBER, op, pos)
    _expect(right_type, NUMBER, op, pos)
    return NUMBER


def _same_kind(a: str, b: str, op: str, pos: int) -> None:
    if not (compatible(a, b) or compatible(b, a)):
        raise ExpressionError(f"cannot compare {a} with {b} using {op}", pos)


def _call(node: Call, scope: _Scope) -> tuple[Fn, str]:
    function = scope.registry.get(node.name)
    if function is None:
        raise ExpressionError(f"unknown function '{node.name}'", node.pos)
    params = function.params
    count = len(node.args)
    low, high = len(params) - function.optional, len(params)
    if function.variadic:
        high = 50
    if not low <= count <= high:
        wanted = f"{low}" if low == high else f"{low} to {high}"
        raise ExpressionError(f"{node.name} takes {wanted} argument(s), got {count}", node.pos)
    compiled = []
    arg_types = []
    for index, arg in enumerate(node.args):
        fn, kind = _compile(arg, scope)
        expected = params[min(index, len(params) - 1)]
        if not compatible(kind, expected) and not (expected == DATETIME and kind == DATE):
            raise ExpressionError(
                f"{node.name} expects {expected} as argument {index + 1}, got {kind}", arg.pos
            )
        compiled.append(fn)
        arg_types.append(kind)
    result = function.result
    if node.name in DATE_PRESERVING:
        result = arg_types[0] if arg_types[0] in (DATE, DATETIME) else ANY
    return _invoke(function, tuple(compiled)), result


def _invoke(function: Function, args: tuple[Fn, ...]) -> Fn:
    impl, needs_now, null_safe = function.impl, function.needs_now, function.null_safe

    def call(ctx: Any) -> Any:
        values = [arg(ctx) for arg in args]
        if not null_safe and any(v is None for v in values):
            return None
        if needs_now:
            values.insert(0, ctx.now)
        return impl(*values)

    return call


def _string_literal(node: Node, what: str) -> str:
    if not isinstance(node, Literal) or not isinstance(node.value, str):
        raise ExpressionError(f"{what} must be a quoted text", node.pos)
    return node.value


def _aggregate(node: Call, scope: _Scope) -> tuple[Fn, str]:
    kind = node.name
    args = list(node.args)
    minimum = {"count": 1, "sum": 2, "min_of": 2, "max_of": 2, "last_n_count": 3}[kind]
    maximum = {"count": 2, "sum": 3, "min_of": 3, "max_of": 3, "last_n_count": 4}[kind]
    if not minimum <= len(args) <= maximum:
        raise ExpressionError(f"{kind} takes {minimum} to {maximum} arguments, got {len(args)}", node.pos)
    source_text = _string_literal(args[0], f"the source of {kind}")
    source, link_field, parent_field, sibling = _resolve_source(scope, source_text, args[0].pos)
    field_name: str | None = None
    n = 0
    order_field = "created_at"
    condition_node: Node | None = None
    if kind in ("sum", "min_of", "max_of"):
        field_name = _string_literal(args[1], f"the field of {kind}")
        field_kind, _ = field_type_of(scope.site, source, (field_name,), args[1].pos)
        if kind == "sum":
            _expect(field_kind, NUMBER, "sum", args[1].pos)
        condition_node = args[2] if len(args) > 2 else None
        result = field_kind
    elif kind == "count":
        condition_node = args[1] if len(args) > 1 else None
        result = NUMBER
    else:
        if (
            not isinstance(args[1], Literal)
            or not isinstance(args[1].value, int)
            or not 1 <= args[1].value <= 1000
        ):
            raise ExpressionError(
                "last_n_count needs a whole number from 1 to 1000 as argument 2", args[1].pos
            )
        n = args[1].value
        condition_node = args[2]
        if len(args) > 3:
            order_field = _string_literal(args[3], "the order field")
            field_type_of(scope.site, source, (order_field,), args[3].pos)
        result = NUMBER
    condition = None
    if condition_node is not None:
        text = _string_literal(condition_node, f"the condition of {kind}")
        try:
            condition = compile_expression(text, scope.site, source.name, scope.registry)
        except ExpressionError as exc:
            raise ExpressionError(f"in the condition of {kind}: {exc.message}", condition_node.pos) from None
        if not compatible(condition.result_type, BOOLEAN):
            raise ExpressionError(f"the condition of {kind} must be true or false", condition_node.pos)
    spec = AggregateSpec(
        kind, source, link_field, parent_field, field_name, condition, n, order_field, sibling
    )
    scope.aggregates.append(spec)
    scope.specs[id(node)] = spec
    scope.fields_used.add(f"{kind}:{source_text}")
    return (lambda ctx: ctx.aggregate(spec)), result


def _resolve_source(scope: _Scope, text: str, pos: int) -> tuple[EntityModel, str | None, str | None, bool]:
    definition = scope.model.fields.get(text)
    if definition is not None and definition.type == "child_table":
        return scope.site.entity(str(definition.get("child_entity"))), None, text, False
    entity, _, link = text.partition(".")
    other = scope.site.entities.get(entity)
    link_def = other.fields.get(link) if other else None
    if other is not None and link_def is not None and link_def.type == "link":
        if link_def.get("target") == scope.model.name:
            return other, link, None, False
        if other.name == scope.model.name:
            return other, link, None, True
    raise ExpressionError(
        f"'{text}' is neither a child table of {scope.model.name}, nor '<entity>.<link field>' pointing to it, "
        f"nor '{scope.model.name}.<link field>' (records sharing this record's link)",
        pos,
    )


class _Clock:
    """The context of a constant: nothing but the evaluation clock."""

    __slots__ = ("now",)

    def __init__(self, now: dt.datetime) -> None:
        self.now = now


def constant_value(node: Node, model: EntityModel, registry: FunctionRegistry, now: dt.datetime) -> Any:
    """Evaluate a checked node that reads no field (literals, arithmetic on them, ``now()``...) at ``now``."""
    scope = _Scope(None, model, registry, set(), [])  # type: ignore[arg-type]  # no field: no site needed
    fn, _ = _compile(node, scope)
    return fn(_Clock(now))


__all__ = [
    "BACKENDS",
    "LIST",
    "MAX_INT",
    "AggregateSpec",
    "CompiledExpression",
    "compile_expression",
    "constant_value",
    "field_type_of",
]
