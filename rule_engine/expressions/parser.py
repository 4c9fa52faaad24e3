"""Parsing with py-expression-eval into our own small tree, after bounding size and nesting."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from py_expression_eval import Parser

from rule_engine.expressions.ast import Binary, Call, FieldRef, Literal, Node, Unary
from rule_engine.expressions.errors import ExpressionError

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_TOKENS = 500
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,3}$")
_CONSTANTS = {"null": None, "true": True, "false": False}
_BINARY = {"+", "-", "*", "/", "%", "^", "==", "!=", "<", "<=", ">", ">=", "and", "or", "||"}
_UNARY = {"-", "not"}
_TNUMBER, _TOP1, _TOP2, _TVAR, _TFUNCALL = 0, 1, 2, 3, 4


class _Args:
    """A comma-joined argument list on the parse stack."""

    def __init__(self, items: list[Node]) -> None:
        self.items = items


def _precheck(text: str) -> None:
    if not isinstance(text, str):
        raise ExpressionError("an expression must be text")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    if "\x00" in text:
        raise ExpressionError("the expression contains a NUL character", text.index("\x00"))
    depth = 0
    in_string: str | None = None
    for index, char in enumerate(text):
        if in_string:
            if char == in_string:
                in_string = None
            continue
        if char in "'\"":
            in_string = char
        elif char == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels", index)
        elif char == ")":
            depth -= 1
        elif char == "!" and text[index + 1 : index + 2] != "=":
            raise ExpressionError("'!' is not an operator here; use not(...)", index)
        elif char in "[]{}`;@$\\":
            raise ExpressionError(f"unexpected character {char!r}", index)
    if text.count("not") > MAX_DEPTH * 2:
        raise ExpressionError("too many 'not' operators")


def _parser() -> Parser:
    """A library parser that knows no functions or constants of its own.

    It would otherwise parse ``abs``, ``round``, ... as prefix operators binding only their first
    argument; every function must come from our registry instead.
    """
    parser = Parser()
    parser.ops1 = {op: parser.ops1[op] for op in _UNARY}
    parser.consts = {}
    return parser


def parse(text: str) -> Node:
    """Parse ``text`` into a tree; ExpressionError names the problem and where it is."""
    _precheck(text)
    if not text.strip():
        raise ExpressionError("the expression is empty", 0)
    try:
        parsed = _parser().parse(text)
    except Exception as exc:  # the library raises bare Exceptions with its own wording
        message = str(exc)
        found = re.search(r"(?:column|character) (\d+)", message)
        raise ExpressionError(
            f"syntax error: {message.split(':')[0]}", int(found.group(1)) if found else None
        ) from None
    tokens = parsed.tokens
    if len(tokens) > MAX_TOKENS:
        raise ExpressionError(f"the expression has more than {MAX_TOKENS} parts")
    locator = _Locator(text)
    stack: list[Any] = []
    for token in tokens:
        kind = token.type_
        if kind == _TNUMBER:
            if token.number_ == []:
                stack.append(_Args([]))  # the argument list of a call without arguments
                continue
            stack.append(_literal(token.number_, locator))
        elif kind == _TVAR:
            stack.append(_name(str(token.index_), locator))
        elif kind == _TOP1:
            op = str(token.index_)
            if op not in _UNARY or not stack:
                raise ExpressionError(f"unknown operator {op!r}", locator.find(op))
            operand = _node(stack.pop(), locator)
            stack.append(Unary(locator.find(op), op, operand))
        elif kind == _TOP2:
            op = str(token.index_)
            if len(stack) < 2:
                raise ExpressionError(f"operator {op!r} is missing an operand", locator.find(op))
            right, left = stack.pop(), stack.pop()
            if op == ",":
                items = (left.items if isinstance(left, _Args) else [_node(left, locator)]) + [
                    _node(right, locator)
                ]
                stack.append(_Args(items))
                continue
            if op not in _BINARY:
                raise ExpressionError(f"operator {op!r} is not supported", locator.find(op))
            stack.append(Binary(locator.find(op), op, _node(left, locator), _node(right, locator)))
        elif kind == _TFUNCALL:
            args, function = stack.pop(), stack.pop()
            if not isinstance(function, FieldRef) or len(function.path) != 1:
                raise ExpressionError("only named functions can be called", getattr(function, "pos", None))
            call_args = tuple(args.items) if isinstance(args, _Args) else (_node(args, locator),)
            stack.append(Call(function.pos, function.path[0], call_args))
        else:
            raise ExpressionError("unsupported syntax")
    if len(stack) != 1:
        raise ExpressionError("the expression is incomplete or has extra parts")
    return _node(stack[0], locator)


def _node(item: Any, locator: _Locator) -> Node:
    if isinstance(item, _Args):
        raise ExpressionError("a comma is only allowed between function arguments", locator.find(","))
    if not isinstance(item, Node):
        raise ExpressionError("unsupported syntax")
    return item


def _literal(value: Any, locator: _Locator) -> Literal:
    if isinstance(value, bool) or value is None:
        return Literal(0, value)
    if isinstance(value, str):
        if len(value) > MAX_LENGTH:
            raise ExpressionError("string literal is too long")
        return Literal(locator.find_string(value), value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError("number literal is out of range")
        return Literal(locator.find(repr(value)), Decimal(repr(value)))
    if isinstance(value, int):
        if abs(value) > 10**30:
            raise ExpressionError("number literal is too large", locator.find(str(value)))
        return Literal(locator.find(str(value)), value)
    raise ExpressionError("unsupported literal")


def _name(name: str, locator: _Locator) -> Node:
    pos = locator.find(name)
    if name.lower() in _CONSTANTS:
        return Literal(pos, _CONSTANTS[name.lower()])
    if name in ("E", "PI"):
        raise ExpressionError(f"unknown name '{name}'", pos)
    if not _IDENT.match(name) or "__" in name:
        raise ExpressionError(f"'{name}' is not a valid field or function name", pos)
    return FieldRef(pos, tuple(name.split(".")))


class _Locator:
    """Finds approximate source positions of tokens, scanning forward (the parser keeps none)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def find(self, token: str) -> int:
        """Position of the first occurrence of ``token``, or 0."""
        index = self.text.find(token)
        return max(index, 0)

    def find_string(self, value: str) -> int:
        """Position of the opening quote of the string literal ``value``."""
        for quote in "'\"":
            index = self.text.find(f"{quote}{value}{quote}")
            if index >= 0:
                return index
        return self.find(value)
