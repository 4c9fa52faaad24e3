"""Nodes of parsed expressions; ``pos`` is the character offset in the source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Node:
    """Base of all nodes."""

    pos: int


@dataclass(frozen=True)
class Literal(Node):
    """A number (int or Decimal), string, boolean or null."""

    value: Any


@dataclass(frozen=True)
class FieldRef(Node):
    """A field of the record, or of a linked record through dotted link fields."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class Unary(Node):
    """``-x`` or ``not x``."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """An arithmetic, comparison or logical operation."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    """A call of a registered function."""

    name: str
    args: tuple[Node, ...]
