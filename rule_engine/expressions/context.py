"""In-memory evaluation contexts, and aggregates computed over rows in Python."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from rule_engine.expressions.compiled import AggregateSpec
from rule_engine.expressions.errors import EvaluationError
from rule_engine.expressions.values import MappingContext

AGGREGATE_ROW_LIMIT = 10_000
TIME_LIMIT = 1.0


_NO_ROWS: Mapping[Any, Any] = MappingProxyType({})


class DictContext:
    """An in-memory context: the record, linked records by path, related records by source."""

    __slots__ = ("links", "now", "record", "related")

    def __init__(
        self,
        record: Mapping[str, Any],
        now: dt.datetime,
        links: Mapping[tuple[str, ...], Any] = _NO_ROWS,
        related: Mapping[str, list[Mapping[str, Any]]] = _NO_ROWS,
    ) -> None:
        self.record = record
        self.now = now
        self.links = links
        self.related = related

    def value(self, name: str) -> Any:
        """Return a field of the record."""
        return self.record.get(name)

    def linked(self, path: tuple[str, ...]) -> Any:
        """Return a field reached through links."""
        return self.links.get(path)

    def aggregate(self, spec: AggregateSpec) -> Any:
        """Aggregate the related records of ``spec``'s source."""
        key = spec.parent_field or f"{spec.source.name}.{spec.link_field}"
        rows = list(self.related.get(key, []))
        return aggregate_rows(spec, rows, self.now, lambda row: DictContext(row, self.now))


def aggregate_rows(
    spec: AggregateSpec, rows: Sequence[Mapping[str, Any]], now: dt.datetime, context_of: Any
) -> Any:
    """Compute an aggregate over rows in Python (used when the condition has no SQL form)."""
    deadline = time.monotonic() + TIME_LIMIT
    if spec.kind == "last_n_count":
        rows = sorted(
            rows,
            key=lambda r: (r.get(spec.order_field) is not None, r.get(spec.order_field), r.get("id", 0)),
            reverse=True,
        )[: spec.n]
    selected = []
    for row in rows:
        if time.monotonic() > deadline:
            raise EvaluationError("the aggregate took too long")
        if spec.condition is None or spec.condition.evaluate(context_of(row)) is True:
            selected.append(row)
    if spec.kind in ("count", "last_n_count"):
        return len(selected)
    values: list[Any] = [row.get(spec.field or "") for row in selected]
    values = [v for v in values if v is not None]
    if spec.kind == "sum":
        return sum(values, Decimal(0)) if any(isinstance(v, Decimal) for v in values) else sum(values)
    if not values:
        return None
    return min(values) if spec.kind == "min_of" else max(values)


__all__ = ["AGGREGATE_ROW_LIMIT", "TIME_LIMIT", "DictContext", "MappingContext", "aggregate_rows"]
