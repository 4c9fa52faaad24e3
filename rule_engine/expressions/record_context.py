"""The database-backed evaluation context: links and aggregates read with SQL in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select, type_coerce

from metamodel.model import EntityModel, SiteModel
from rule_engine.expressions.compiled import AggregateSpec
from rule_engine.expressions.context import AGGREGATE_ROW_LIMIT, aggregate_rows
from rule_engine.expressions.sql import to_sql
from rule_engine.expressions.values import python_value


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
