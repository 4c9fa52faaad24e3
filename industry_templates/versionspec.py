"""Version numbers (``1.2.0``) and specifiers (``>=1.0,<2.0``) of packs, plugins and the platform."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

_CLAUSE = re.compile(r"^\s*(==|!=|>=|<=|>|<)\s*([0-9]+(?:\.[0-9]+){0,2})\s*$")
_OPS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def parse_version(text: str) -> tuple[int, int, int]:
    """Return ``1.2`` or ``1.2.3`` as a comparable triple; raises ValueError on anything else."""
    parts = str(text).strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"'{text}' is not a version (MAJOR.MINOR.PATCH)")
    numbers = [int(p) for p in parts] + [0, 0]
    return numbers[0], numbers[1], numbers[2]


def check_specifier(spec: str) -> str | None:
    """Return why ``spec`` is not a valid specifier, or None."""
    if not str(spec).strip():
        return "an empty version specifier; write e.g. '>=1.0'"
    for clause in str(spec).split(","):
        if not _CLAUSE.match(clause):
            return f"'{clause.strip()}' is not a version clause like '>=1.0' or '<2.0'"
    return None


def satisfies(version: str, spec: str) -> bool:
    """Whether ``version`` meets every clause of ``spec``."""
    have = parse_version(version)
    for clause in spec.split(","):
        found = _CLAUSE.match(clause)
        if found is None:
            raise ValueError(check_specifier(spec) or f"bad specifier '{spec}'")
        if not _OPS[found.group(1)](have, parse_version(found.group(2))):
            return False
    return True
