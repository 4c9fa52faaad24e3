"""What one scheduler pass did: outcomes per rule, and the errors met."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What one scheduler pass did, per outcome and per rule."""

    outcomes: Counter[str] = field(default_factory=Counter)
    per_rule: dict[str, Counter[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, rule: str, outcome: str) -> None:
        """Count one outcome (done, skipped, late, busy, retry, failed, taken, error)."""
        self.outcomes[outcome] += 1
        self.per_rule.setdefault(rule, Counter())[outcome] += 1

    @property
    def fired(self) -> int:
        """Firings whose actions ran and committed."""
        return self.outcomes["done"]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "fired": self.fired,
            "outcomes": dict(self.outcomes),
            "rules": {rule: dict(counts) for rule, counts in self.per_rule.items()},
            "errors": self.errors,
        }


def count_error(report: RunReport, rule: str, exc: Exception) -> str:
    """Log an unexpected error of one firing and note it in ``report``; returns the outcome 'error'."""
    log.error("rule %s: firing failed with an unexpected error", rule, exc_info=exc)
    report.errors.append(f"{rule}: {type(exc).__name__}: {exc}")
    return "error"
