"""Reading records: one record with its lines and link titles, pages of a list, titles and GROUP BYs."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select

from metamodel.definitions import FieldDef
from metamodel.errors import NotFound
from metamodel.model import EntityModel
from metamodel.records.aggregate import (
    AggregateQuery,
    AggregateResult,
    bucket_spans,
    build_statement,
    shape_rows,
)
from metamodel.records.base import SYSTEM, RuntimeBase
from metamodel.records.hooks import Actor
from metamodel.records.query import (
    ListQuery,
    base_select,
    encode_cursor,
    lookup_field,
    order_and_page,
    search_fields,
    sort_field,
    where_clauses,
)
from metamodel.records.statements import by_id_with_titles, joined_titles
from metamodel.records.values import serialize_row

_COUNT_CAP = 100_000


@dataclass
class Page:
    """One page of a list."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool
    total: int | None = None


class RecordReads(RuntimeBase):
    """Reads of the record runtime; every one scoped to what the actor may see."""

    def get(
        self, entity: str, record_id: int, actor: Actor = SYSTEM, conn: Connection | None = None
    ) -> dict[str, Any]:
        """Return one record with its child lines and link titles; NotFound when not visible."""
        model = self.model.entity(entity)
        # In its own transaction the record's SELECT reads the metadata version along: one statement.
        own = conn is None
        with self.transaction(conn, checks_version=own) as c:
            actor = self._resolve(self._actor(actor), c)
            self._permit(c, model, "read", actor)
            record = self._read(c, model, record_id, actor, scoped=True, versioned=own)
            return self._present(model, actor, record)

    def _read(
        self,
        conn: Connection,
        model: EntityModel,
        record_id: int,
        actor: Actor,
        scoped: bool,
        versioned: bool = False,
    ) -> dict[str, Any]:
        statement = self._by_id(model, versioned)
        if scoped:
            scopes = self._scope(model, actor)
            if scopes:
                statement = statement.where(*scopes)
        row = conn.execute(statement, {"_record_id": record_id}).mappings().first()
        if versioned:
            self.verify_version(conn, row)
        if row is None:
            raise NotFound(f"{model.name} {record_id} does not exist")
        record = serialize_row(model, row)
        for child_field in model.child_fields():
            record[child_field.name] = self._read_lines(conn, model, record_id, child_field)
        record["_titles"] = joined_titles(self.model, model, row)
        return record

    def _by_id(self, model: EntityModel, versioned: bool = False) -> Select[Any]:
        key = (model.table, "by_id_versioned" if versioned else "by_id")
        statement = self._statements.get(key)
        if statement is None:
            statement = by_id_with_titles(self.model, model)
            if versioned:
                statement = self.versioned(statement)
            self._statements[key] = statement
        return statement

    def _read_lines(
        self, conn: Connection, model: EntityModel, parent_id: int, child_field: FieldDef
    ) -> list[dict[str, Any]]:
        child = self.model.entity(str(child_field.get("child_entity")))
        table = child.table
        rows = conn.execute(
            select(table)
            .where(table.c.parent_id == parent_id, table.c.parent_field == child_field.name)
            .order_by(table.c.line_no, table.c.id)
        ).mappings()
        lines = [serialize_row(child, row) for row in rows]
        for line, titles in zip(lines, self._link_titles(conn, child, lines), strict=True):
            line["_titles"] = titles
        return lines

    def _link_titles(
        self, conn: Connection, model: EntityModel, records: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        titles: list[dict[str, str]] = [{} for _ in records]
        # One query per linked entity, however many fields link to it (a deal's buyer and its payer).
        by_target: dict[str, list[str]] = {}
        for definition in model.column_fields():
            if definition.type == "link":
                by_target.setdefault(str(definition.get("target")), []).append(definition.name)
        for target, names in by_target.items():
            ids = {r[name] for name in names for r in records if r.get(name) is not None}
            if not ids:
                continue
            found_titles = self.titles(target, sorted(ids), conn)
            for record, found in zip(records, titles, strict=True):
                for name in names:
                    value = record.get(name)
                    if value is not None:
                        found[name] = found_titles.get(value, f"#{value}")
        return titles

    def titles(
        self, entity: str, ids: list[int], conn: Connection | None = None, actor: Actor | None = None
    ) -> dict[int, str]:
        """Return the display title of each record id (its title field, record number or #id).

        With ``actor``, titles are shown as that actor may see them (a hidden title field gives #id).
        """
        model = self.model.entity(entity)
        table = model.table
        title_name = model.entity.title_field
        statement = self._statements.get((table, "titles"))
        if statement is None:
            title_col = table.c[title_name] if title_name else table.c.record_no
            statement = select(table.c.id, title_col, table.c.record_no).where(
                table.c.id.in_(bindparam("_ids", expanding=True))
            )
            self._statements[(table, "titles")] = statement
        with self.transaction(conn) as c:
            rows = c.execute(statement, {"_ids": list(ids)}).all()
            if actor is not None and self.hooks.record_views and title_name:
                actor = self.resolve(actor, c)
            else:
                actor = None
        result = {}
        for record_id, title, number in rows:
            text = model.types[title_name].to_text(model.fields[title_name], title) if title_name else ""
            result[record_id] = text or number or f"#{record_id}"
            if actor is not None and text:
                result[record_id] = self._view_title(entity, actor, record_id, text)
        return result

    def list(
        self, entity: str, query: ListQuery, actor: Actor = SYSTEM, conn: Connection | None = None
    ) -> Page:
        """Return one page of records matching the query (keyset paging when a cursor is given)."""
        model = self.model.entity(entity)
        actor = self._actor(actor)
        # In its own transaction the page's SELECT reads the metadata version along (as ``get`` does).
        own = conn is None
        with self.transaction(conn, checks_version=own) as c:
            actor = self._resolve(actor, c)
            self._permit(c, model, "read", actor)
            self._guard_fields(c, model, "filter", {f.field for f in query.filters}, actor)
            self._guard_fields(c, model, "sort", {sort_field(model, self.registry, query.sort)[0]}, actor)
            unsearchable: builtins.set[str] = set()
            if query.search:
                searched = {f.name for f in search_fields(model)}
                unsearchable = self._guard_fields(c, model, "search", searched, actor)
            clauses = where_clauses(model, self.registry, query, unsearchable) + self._scope(model, actor)
            statement = order_and_page(
                model, self.registry, base_select(model).where(*clauses), query, c.dialect.name
            )
            rows = c.execute(self.versioned(statement) if own else statement).mappings().all()
            if own:
                self.verify_version(c, rows[0] if rows else None)
            has_more = len(rows) > query.limit
            rows = rows[: query.limit]
            items = [serialize_row(model, row) for row in rows]
            for item, titles in zip(items, self._link_titles(c, model, items), strict=True):
                item["_titles"] = titles
            items = [self._present(model, actor, item) for item in items]
            total = None
            if query.count:
                inner = select(model.table.c.id).where(*clauses).limit(_COUNT_CAP).subquery()
                total = c.execute(select(func.count()).select_from(inner)).scalar_one()
        next_cursor = None
        if has_more and rows:
            name, _descending = sort_field(model, self.registry, query.sort)
            definition, field_type = lookup_field(model, self.registry, name)
            last = rows[-1]
            next_cursor = encode_cursor(field_type, definition, last[name], last["id"])
        return Page(items, next_cursor, has_more, total)

    def aggregate(
        self, entity: str, query: AggregateQuery, actor: Actor = SYSTEM, conn: Connection | None = None
    ) -> AggregateResult:
        """Run one GROUP BY over the records the actor may read; fields she may not see are refused."""
        model = self.model.entity(entity)
        actor = self._actor(actor)
        with self.transaction(conn) as c:
            actor = self._resolve(actor, c)
            self._permit(c, model, "read", actor)
            for purpose, names in query.fields_used().items():
                self._guard_fields(c, model, purpose, names, actor)
            conditions = where_clauses(model, self.registry, ListQuery(filters=query.filters))
            statement = build_statement(
                model,
                self.registry,
                query,
                conditions + self._scope(model, actor),
                c.dialect.name,
                bucket_spans(c, model, query),
            )
            rows = c.execute(statement).mappings().all()
        return shape_rows(query, rows)
