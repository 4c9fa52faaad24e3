"""Fail when a first-party Python module passes the line limit (DEVELOPERS.md: small modules, one job).

Modules that still exceed the limit are listed, one path a line, in tools/module_size_allowlist.txt;
the list only shrinks: an allowed module that has come under the limit is reported as stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 500
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "metamodel",
    "rule_engine",
    "form_renderer",
    "platform",
    "industry_templates",
    "plugins",
    "tools",
    "bench",
)
ALLOWLIST = ROOT / "tools" / "module_size_allowlist.txt"


def allowed() -> set[str]:
    """Paths (relative to the repository root) allowed to exceed the limit for now."""
    lines = ALLOWLIST.read_text(encoding="utf-8").splitlines() if ALLOWLIST.exists() else []
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def line_count(path: Path) -> int:
    """Number of lines in one file."""
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def main() -> int:
    """Print every oversized module not on the allow-list, and every stale allow-list entry."""
    exempt = allowed()
    failures: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            size = line_count(path)
            if size > LIMIT and relative not in exempt:
                failures.append(
                    f"{relative}: {size} lines (limit {LIMIT}); split it into modules with one job"
                )
    for relative in sorted(exempt):
        path = ROOT / relative
        if not path.exists() or line_count(path) <= LIMIT:
            failures.append(f"{relative}: on {ALLOWLIST.name} but no longer over {LIMIT} lines; remove it")
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
