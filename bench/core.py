"""Shared pieces of the benchmark runner: the benchmark registry type, figures, timing helpers.

A benchmark is a function ``fn(ctx: Context) -> list[Figure]``.  Figures become the entries of
``bench/results.json``: ``{"name", "value", "unit", "target", "ok"}``.  A figure without a target
(``target=None``) is informative and always ok.
"""

from __future__ import annotations

import gc
import importlib
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Context:
    """What every benchmark gets: the data size, whether the run is quick, and a scratch folder."""

    records: int  # size of the big data sets (1,000,000; 100,000 with --quick)
    quick: bool
    workdir: Path  # a temporary folder deleted after the run

    def db_url(self, name: str) -> str:
        """Return the URL of a new SQLite file database in the scratch folder."""
        return f"sqlite:///{self.workdir / (name + '.db')}"


@dataclass(frozen=True)
class Figure:
    """One measured figure; ``target`` None means informative only."""

    name: str
    value: float
    unit: str
    target: float | None = None
    # How value compares with target: "<" (strictly below), "<=", or ">=" (a speed-up of at least).
    compare: str = "<"

    @property
    def ok(self) -> bool:
        """Whether the figure meets its target (always true without one)."""
        if self.target is None:
            return True
        if self.compare == ">=":
            return self.value >= self.target
        return self.value < self.target if self.compare == "<" else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        """Return the results.json entry."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark: a short name (for --only) and ``module:function`` loaded on demand."""

    name: str
    target: str  # "bench.records_list:run"
    description: str = ""

    def load(self) -> Callable[[Context], list[Figure]]:
        """Import and return the benchmark function (imports stay lazy so --only is cheap)."""
        module_name, _, attr = self.target.partition(":")
        fn: Callable[[Context], list[Figure]] = getattr(importlib.import_module(module_name), attr)
        return fn


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    return statistics.median(values)


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect garbage, then keep the collector off while timing, so pauses don't land randomly."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def time_call(fn: Callable[[], Any]) -> float:
    """Return the wall time of one call in seconds."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def format_table(rows: list[dict[str, Any]]) -> str:
    """Return the results as an aligned plain-text table."""
    header = ("benchmark", "value", "unit", "target", "ok")
    lines = [header]
    for row in rows:
        target = row["target"]
        if target is None:
            target_text = "-"
        else:
            target_text = f"{target:g}"
        value = float(row["value"])
        digits = 0 if abs(value) >= 1000 else 1 if abs(value) >= 10 else 2
        value_text = f"{value:,.{digits}f}"
        lines.append((row["name"], value_text, row["unit"], target_text, "yes" if row["ok"] else "NO"))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        cells = [
            str(cell).ljust(widths[i]) if i in (0, 2, 4) else str(cell).rjust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
