"""Version numbers (``1.2.0``) and specifiers (``>=1.0,<2.0``) of packs, plugins and the platform.

Comparison is ``packaging``'s (PEP 440); this module only narrows the accepted forms to plain
``MAJOR.MINOR.PATCH`` numbers and the six comparison operators that pack manifests may use.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

_CLAUSE = re.compile(r"^\s*(==|!=|>=|<=|>|<)\s*([0-9]+(?:\.[0-9]+){0,2})\s*$")


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
    have = Version(".".join(str(n) for n in parse_version(version)))
    problem = check_specifier(spec)
    if problem is not None:
        raise ValueError(problem)
    try:
        allowed = SpecifierSet(spec)
    except InvalidSpecifier as exc:  # pragma: no cover - the clause pattern admits only PEP 440 forms
        raise ValueError(f"bad specifier '{spec}'") from exc
    return allowed.contains(have)
