"""Evaluation contexts: field values, link traversal and aggregates for one record."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, func, select, type_coerce

from metamodel.model import EntityModel, SiteModel
from rule_engine.expressions.compiler import AggregateSpec
from rule_engine.expressions.errors import EvaluationError
from rule_engine.expressions.values import python_value

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


class MappingContext:
    """A record's own fields converted as RecordContext converts them, without a database (no links)."""

    __slots__ = ("model", "now", "record")

    def __init__(self, model: EntityModel, record: Mapping[str, Any], now: dt.datetime) -> None:
        self.model = model
        self.record = record
        self.now = now

    def value(self, name: str) -> Any:
        """Return a field of the record as an expression value."""
        return python_value(self.model, name, self.record.get(name))


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


class RecordContext:
    """A database-backed context: links and aggregates are read with SQL in the caller's transaction."""

    def __init__(
        self,
        conn: Connection,
        site: SiteModel,
        entity: str,
        record: Mapping[str, Any],
        now: dt.datetime,
        registry: Any = None,
    ) -> None:
        self.conn = conn
        self.site = site
        self.model = site.entity(entity)
        self.record = record
        self.now = site.local(now)  # today() is the site's calendar day
        self.registry = registry
        self._rows: dict[tuple[str, int], Mapping[str, Any] | None] = {}

    def value(self, name: str) -> Any:
        """Return a field of the record as an expression value."""
        return python_value(self.model, name, self.record.get(name))

    def linked(self, path: tuple[str, ...]) -> Any:
        """Follow link fields and return the last field's value (null when any link is empty)."""
        model, row = self.model, self.record
        for hop in path[:-1]:
            target_id = row.get(hop)
            if target_id is None:
                return None
            model = self.site.entity(str(model.fields[hop].get("target")))
            found = self._row(model, int(target_id))
            if found is None:
                return None
            row = found
        return row.get(path[-1])

    def _row(self, model: EntityModel, record_id: int) -> Mapping[str, Any] | None:
        key = (model.name, record_id)
        if key not in self._rows:
            found = (
                self.conn.execute(select(model.table).where(model.table.c.id == record_id)).mappings().first()
            )
            self._rows[key] = dict(found) if found is not None else None
        return self._rows[key]

    def aggregate(self, spec: AggregateSpec) -> Any:
        """Aggregate related records: in SQL when the condition translates, else over fetched rows."""
        from rule_engine.expressions.sql import to_sql

        record_id = self.record.get("id")
        if record_id is None:
            return 0 if spec.kind in ("count", "last_n_count") else None
        table = spec.source.table
        if spec.sibling:
            shared = self.record.get(spec.link_field or "")
            if shared is None:
                return 0 if spec.kind in ("count", "last_n_count") else None
            scope = [table.c[spec.link_field or ""] == shared]
        elif spec.parent_field:
            scope = [table.c.parent_id == record_id, table.c.parent_field == spec.parent_field]
        else:
            scope = [table.c[spec.link_field or ""] == record_id]
        condition = (
            to_sql(spec.condition, spec.source, self.now, self.site) if spec.condition is not None else None
        )
        in_sql = spec.kind != "last_n_count" and (spec.condition is None or condition is not None)
        if in_sql and spec.field not in spec.source.seals:  # encrypted values are summed after decryption
            where = [*scope, *([condition] if condition is not None else [])]
            if spec.kind == "count":
                return self.conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            column = table.c[spec.field or ""]
            aggregate = getattr(func, {"sum": "sum", "min_of": "min", "max_of": "max"}[spec.kind])
            value = self.conn.execute(
                select(type_coerce(aggregate(column), column.type)).where(*where)
            ).scalar()
            if spec.kind == "sum" and value is None:
                return 0
            return value
        statement = select(table).where(*scope)
        if spec.kind == "last_n_count":
            order = table.c[spec.order_field]
            statement = statement.order_by(order.desc(), table.c.id.desc()).limit(spec.n)
        else:
            statement = statement.limit(AGGREGATE_ROW_LIMIT)
        rows = [dict(row) for row in self.conn.execute(statement).mappings()]
        return aggregate_rows(
            spec,
            rows,
            self.now,
            lambda row: RecordContext(self.conn, self.site, spec.source.name, row, self.now),
        )
