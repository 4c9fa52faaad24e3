"""Create, read, update, delete and list records of any published entity."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, bindparam, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from metamodel.crypto.records import equals, with_search_hashes
from metamodel.database import write_transaction
from metamodel.definitions import FieldDef
from metamodel.errors import Conflict, NotFound, Problem, ProblemList, RecordInvalid
from metamodel.model import EntityModel, SiteModel
from metamodel.records.aggregate import AggregateQuery, AggregateResult, build_statement, shape_rows
from metamodel.records.autonumber import next_number
from metamodel.records.hooks import (
    AccessRequest,
    Actor,
    DeleteEvent,
    FieldUse,
    RecordHooks,
    SaveEvent,
    with_create_defaults,
)
from metamodel.records.links import link_allowed
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
from metamodel.records.values import prepare_values, serialize_row
from metamodel.systables import attachments

SYSTEM = Actor()
_MAX_CASCADE_DEPTH = 10
_COUNT_CAP = 100_000


def utcnow() -> dt.datetime:
    """Return the current time in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Page:
    """One page of a list."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool
    total: int | None = None


class RecordRuntime:
    """The one record runtime; bound to a compiled metadata version, an engine and the hooks."""

    def __init__(
        self,
        model: SiteModel,
        engine: Engine,
        hooks: RecordHooks | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        on_begin: Callable[[Connection], None] | None = None,
    ) -> None:
        self.model = model
        # Called first in each transaction the runtime opens (the platform checks the metadata version).
        self.on_begin = on_begin
        self.engine = engine
        self.hooks = hooks or RecordHooks()
        self.clock = clock
        self.registry = model.registry
        # Statements that only depend on a table, built once per table: building and hashing a
        # fresh SELECT costs more than running it on a primary key.
        self._statements: dict[tuple[Any, str], Any] = {}

    @contextmanager
    def transaction(self, conn: Connection | None = None, *, write: bool = False) -> Iterator[Connection]:
        """Yield ``conn`` when given, else a new connection in a transaction committed at the end.

        ``write``: on SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE), so it
        waits its turn instead of failing when it upgrades from reading to writing.
        """
        if conn is not None:
            yield conn
            return
        with write_transaction(self.engine) if write else self.engine.begin() as new_conn:
            if self.on_begin is not None:
                self.on_begin(new_conn)
            yield new_conn

    def _actor(self, actor: Actor) -> Actor:
        return actor if actor.now is not None else dataclasses.replace(actor, now=self.clock())

    def _resolve(self, actor: Actor, conn: Connection) -> Actor:
        # Inside the operation's transaction, so grants are read from the same snapshot as records.
        for resolve in self.hooks.actor_resolvers:
            actor = resolve(actor, conn)
        return actor

    def _permit(
        self,
        conn: Connection,
        model: EntityModel,
        operation: str,
        actor: Actor,
        record_id: int | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        if self.hooks.permission_checks:
            request = AccessRequest(model, operation, actor, conn, record_id, values)
            for check in self.hooks.permission_checks:
                check(request)

    def _guard_fields(
        self,
        conn: Connection,
        model: EntityModel,
        purpose: str,
        names: builtins.set[str] | frozenset[str],
        actor: Actor,
        values: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
    ) -> builtins.set[str]:
        # Returns the fields the guards leave out; a guard raises to refuse the operation.
        left_out: builtins.set[str] = set()
        if names and self.hooks.field_guards:
            use = FieldUse(model, purpose, frozenset(names), actor, conn, values, before)
            for guard in self.hooks.field_guards:
                left_out |= set(guard(use) or ())
        return left_out

    def _guard_write(
        self,
        conn: Connection,
        model: EntityModel,
        raw: Mapping[str, Any],
        actor: Actor,
        before: dict[str, Any] | None,
    ) -> Mapping[str, Any]:
        # The payload as given, less the fields the guards leave out; lines are vetted one by one
        # against the stored line with the same id.
        if not self.hooks.field_guards:
            return raw
        given = {name for name in raw if name in model.fields}
        left_out = self._guard_fields(conn, model, "write", given, actor, dict(raw), before)
        kept = {key: value for key, value in raw.items() if key not in left_out}
        for child_field in model.child_fields():
            lines = kept.get(child_field.name)
            if not isinstance(lines, builtins.list):
                continue
            child = self.model.entity(str(child_field.get("child_entity")))
            stored = {line["id"]: line for line in (before or {}).get(child_field.name) or []}
            kept[child_field.name] = [
                self._guard_write(
                    conn, child, line, actor, stored.get(line.get("id")) or ({} if before else None)
                )
                if isinstance(line, Mapping)
                else line
                for line in lines
            ]
        return kept

    def authorize(
        self,
        entity: str,
        operation: str,
        actor: Actor,
        record_id: int | None = None,
        conn: Connection | None = None,
    ) -> Actor:
        """Refuse ``operation`` (e.g. transition) on the entity, or on one record, unless the actor may; returns her resolved."""
        model = self.model.entity(entity)
        with self.transaction(conn) as c:
            resolved = self.resolve(actor, c)
            self._permit(c, model, operation, resolved, record_id)
            return resolved

    def resolve(self, actor: Actor, conn: Connection) -> Actor:
        """Return the actor with what it may do attached (its clock reading set), as each operation does."""
        return self._resolve(self._actor(actor), conn)

    def present_as(
        self, entity: str, record: dict[str, Any], actor: Actor, conn: Connection | None = None
    ) -> dict[str, Any]:
        """Return a stored record as ``actor`` may see it (fields hidden or masked), e.g. for a message to her."""
        model = self.model.entity(entity)
        with self.transaction(conn) as c:
            return self._present(model, self.resolve(actor, c), record)

    def _present(self, model: EntityModel, actor: Actor, record: dict[str, Any]) -> dict[str, Any]:
        # Shapes a record (its lines and link titles too) as the actor may see it.
        views = self.hooks.record_views
        if not views:
            return record
        titles = record.get("_titles")
        shown = dict(record)
        for view in views:
            shown = view(model, actor, shown)
        for child_field in model.child_fields():
            lines = shown.get(child_field.name)
            if isinstance(lines, builtins.list):
                child = self.model.entity(str(child_field.get("child_entity")))
                shown[child_field.name] = [self._present(child, actor, line) for line in lines]
        if isinstance(titles, dict):
            shown["_titles"] = self._view_titles(model, actor, record, shown, titles)
        return shown

    def _view_titles(
        self,
        model: EntityModel,
        actor: Actor,
        record: dict[str, Any],
        shown: dict[str, Any],
        titles: dict[str, str],
    ) -> dict[str, str]:
        result = {}
        for name, title in titles.items():
            if name not in shown:
                continue  # the link field itself is hidden: so is the title of what it points at
            if shown[name] != record.get(name):
                result[name] = "****"  # the link is masked: its title would give it away
                continue
            result[name] = self._view_title(
                str(model.fields[name].get("target")), actor, record.get(name), title
            )
        return result

    def _view_title(self, entity: str, actor: Actor, record_ref: Any, title: str) -> str:
        # A linked record's title is its title field's value: it is hidden or masked like the field.
        target = self.model.entity(entity)
        title_name = target.entity.title_field
        if not title_name:
            return title
        stand_in: dict[str, Any] = {"id": record_ref, title_name: title}
        for view in self.hooks.record_views:
            stand_in = view(target, actor, stand_in)
        shown = stand_in.get(title_name)
        if shown is None or shown == "":
            return f"#{record_ref}" if isinstance(record_ref, int) else "#"
        return str(shown)

    def _scope(self, model: EntityModel, actor: Actor) -> list[ColumnElement[bool]]:
        clauses = [scope(model, actor) for scope in self.hooks.query_scopes]
        return [c for c in clauses if c is not None]

    # --- create -------------------------------------------------------------------------------
    def create(
        self, entity: str, raw: Mapping[str, Any], actor: Actor = SYSTEM, conn: Connection | None = None
    ) -> dict[str, Any]:
        """Validate and insert a record (with its child lines); returns the stored record."""
        model = self.model.entity(entity)
        if model.entity.is_child:
            raise NotFound(f"'{entity}' records only exist as lines of their parent")
        actor = self._actor(actor)
        if not isinstance(raw, Mapping):
            raise RecordInvalid(
                "the record must be a JSON object", [Problem("", "expected an object", "type")]
            )
        with self.transaction(conn, write=True) as c:
            actor = self._resolve(actor, c)
            problems = ProblemList()
            raw = with_create_defaults(
                self.hooks, self.model, model, self._guard_write(c, model, raw, actor, None)
            )
            values, children = prepare_values(model, self.registry, raw, problems, creating=True)
            self._permit(c, model, "create", actor, values=values)
            lines = self._prepare_lines(c, model, children, None, problems, actor)
            self._check_values(c, model, values, None, problems, "", actor)
            event = SaveEvent(model, "create", values, None, actor, c, problems, runtime=self)
            for hook in self.hooks.before_save:
                hook(event)
            if problems:
                raise RecordInvalid(f"the {entity} record is not valid", problems.problems)
            now = actor.now
            assert now is not None
            row = {
                **with_search_hashes(model, values),
                "lock_version": 1,
                "owner_id": values.get("owner_id", actor.user_id),
                "created_at": now,
                "created_by": actor.user_id,
                "updated_at": now,
                "updated_by": actor.user_id,
                "record_no": next_number(c, model.entity.id, model.entity.autonumber, now)
                if model.entity.autonumber
                else None,
            }
            record_id = self._insert(c, model, row, savepoint=conn is not None)
            self._write_lines(c, model, record_id, lines, actor)
            event.record_id = record_id
            for hook in self.hooks.after_save:
                hook(event)
            return self._present(model, actor, self._read(c, model, record_id, actor, scoped=False))

    def _insert(
        self, conn: Connection, model: EntityModel, row: dict[str, Any], savepoint: bool = True
    ) -> int:
        try:
            with _guard(conn, savepoint):
                result = conn.execute(model.table.insert().values(row))
        except IntegrityError as exc:
            raise Conflict(f"the {model.name} record clashes with another record: {_reason(exc)}") from None
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    # --- read ---------------------------------------------------------------------------------
    def get(
        self, entity: str, record_id: int, actor: Actor = SYSTEM, conn: Connection | None = None
    ) -> dict[str, Any]:
        """Return one record with its child lines and link titles; NotFound when not visible."""
        model = self.model.entity(entity)
        with self.transaction(conn) as c:
            actor = self._resolve(self._actor(actor), c)
            self._permit(c, model, "read", actor)
            return self._present(model, actor, self._read(c, model, record_id, actor, scoped=True))

    def _read(
        self, conn: Connection, model: EntityModel, record_id: int, actor: Actor, scoped: bool
    ) -> dict[str, Any]:
        statement = self._by_id(model)
        if scoped:
            scopes = self._scope(model, actor)
            if scopes:
                statement = statement.where(*scopes)
        row = conn.execute(statement, {"_record_id": record_id}).mappings().first()
        if row is None:
            raise NotFound(f"{model.name} {record_id} does not exist")
        record = serialize_row(model, row)
        for child_field in model.child_fields():
            record[child_field.name] = self._read_lines(conn, model, record_id, child_field)
        record["_titles"] = self._link_titles(conn, model, [record])[0]
        return record

    def _by_id(self, model: EntityModel) -> Select[Any]:
        key = (model.table, "by_id")
        statement = self._statements.get(key)
        if statement is None:
            statement = base_select(model).where(model.table.c.id == bindparam("_record_id"))
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
        for definition in model.column_fields():
            if definition.type != "link":
                continue
            ids = {r[definition.name] for r in records if r.get(definition.name) is not None}
            if not ids:
                continue
            names = self.titles(str(definition.get("target")), sorted(ids), conn)
            for record, found in zip(records, titles, strict=True):
                value = record.get(definition.name)
                if value is not None:
                    found[definition.name] = names.get(value, f"#{value}")
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

    # --- update -------------------------------------------------------------------------------
    def update(
        self,
        entity: str,
        record_id: int,
        raw: Mapping[str, Any],
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        conn: Connection | None = None,
    ) -> dict[str, Any]:
        """Change the given fields; refused with Conflict when ``expected_version`` is stale."""
        model = self.model.entity(entity)
        actor = self._actor(actor)
        if not isinstance(raw, Mapping):
            raise RecordInvalid(
                "the record must be a JSON object", [Problem("", "expected an object", "type")]
            )
        with self.transaction(conn, write=True) as c:
            actor = self._resolve(actor, c)
            self._permit(c, model, "read", actor)
            before = self._read(c, model, record_id, actor, scoped=True)
            current = before["lock_version"]
            if expected_version is not None and expected_version != current:
                raise Conflict(
                    f"{entity} {record_id} was changed by someone else (version {current}, you had "
                    f"{expected_version}); reload it and apply your change again",
                    current_version=current,
                )
            problems = ProblemList()
            raw = self._guard_write(c, model, raw, actor, before)
            values, children = prepare_values(model, self.registry, raw, problems, creating=False)
            self._permit(c, model, "update", actor, record_id, values)
            lines = self._prepare_lines(c, model, children, record_id, problems, actor)
            self._check_values(c, model, values, record_id, problems, "", actor)
            event = SaveEvent(model, "update", values, before, actor, c, problems, record_id, runtime=self)
            for hook in self.hooks.before_save:
                hook(event)
            if problems:
                raise RecordInvalid(f"the {entity} record is not valid", problems.problems)
            table = model.table
            changes = {
                **with_search_hashes(model, values),
                "lock_version": current + 1,
                "updated_at": actor.now,
                "updated_by": actor.user_id,
            }
            try:
                with _guard(c, savepoint=conn is not None):
                    result = c.execute(
                        table.update()
                        .where(table.c.id == record_id, table.c.lock_version == current)
                        .values(changes)
                    )
            except IntegrityError as exc:
                raise Conflict(f"the {entity} record clashes with another record: {_reason(exc)}") from None
            if result.rowcount != 1:
                raise Conflict(f"{entity} {record_id} was changed by someone else; reload it and try again")
            self._write_lines(c, model, record_id, lines, actor)
            for hook in self.hooks.after_save:
                hook(event)
            return self._present(model, actor, self._read(c, model, record_id, actor, scoped=False))

    # --- owner changes (the lead pool's claim and release) ---------------------------------------
    def set_owner(
        self,
        entity: str,
        record_id: int,
        owner_id: int | None,
        actor: Actor = SYSTEM,
        *,
        operation: str = "update",
        expected_version: int | None = None,
        conn: Connection | None = None,
    ) -> dict[str, Any]:
        """Hand a record to ``owner_id`` (None: to nobody); ``operation`` is the permission checked (claim, release).

        Guarded by the record's lock_version like ``update``, so of two concurrent owner changes
        of one record exactly one succeeds and the other gets Conflict.
        """
        model = self.model.entity(entity)
        if model.entity.is_child:
            raise NotFound(f"'{entity}' records only exist as lines of their parent")
        actor = self._actor(actor)
        with self.transaction(conn, write=True) as c:
            actor = self._resolve(actor, c)
            self._permit(c, model, "read", actor)
            before = self._read(c, model, record_id, actor, scoped=True)
            current = before["lock_version"]
            if expected_version is not None and expected_version != current:
                raise Conflict(f"{entity} {record_id} was changed by someone else; reload it and try again")
            values: dict[str, Any] = {"owner_id": owner_id}
            self._permit(c, model, operation, actor, record_id, values)
            problems = ProblemList()
            event = SaveEvent(
                model,
                "update",
                values,
                before,
                actor,
                c,
                problems,
                record_id,
                runtime=self,
                operation=operation,
            )
            for hook in self.hooks.before_save:
                hook(event)
            if problems:
                raise RecordInvalid(f"the {entity} record is not valid", problems.problems)
            table = model.table
            changes = {
                **values,
                "lock_version": current + 1,
                "updated_at": actor.now,
                "updated_by": actor.user_id,
            }
            result = c.execute(
                table.update().where(table.c.id == record_id, table.c.lock_version == current).values(changes)
            )
            if result.rowcount != 1:
                raise Conflict(f"{entity} {record_id} was changed by someone else; reload it and try again")
            for hook in self.hooks.after_save:
                hook(event)
            return self._present(model, actor, self._read(c, model, record_id, actor, scoped=False))

    # --- delete -------------------------------------------------------------------------------
    def delete(
        self,
        entity: str,
        record_id: int,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Delete a record, applying each referencing link's delete behaviour."""
        model = self.model.entity(entity)
        actor = self._actor(actor)
        with self.transaction(conn, write=True) as c:
            actor = self._resolve(actor, c)
            self._permit(c, model, "read", actor)
            record = self._read(c, model, record_id, actor, scoped=True)
            self._permit(c, model, "delete", actor, record_id)
            if expected_version is not None and expected_version != record["lock_version"]:
                raise Conflict(f"{entity} {record_id} was changed by someone else; reload it first")
            self._delete(c, model, record, actor, 0)

    def _delete(
        self, conn: Connection, model: EntityModel, record: dict[str, Any], actor: Actor, depth: int
    ) -> None:
        if depth > _MAX_CASCADE_DEPTH:
            raise Conflict("deleting this record would cascade too deep; delete the linked records first")
        event = DeleteEvent(model, record, actor, conn, runtime=self)
        for hook in self.hooks.before_delete:
            hook(event)
        record_id = record["id"]
        for other, link in self._links_to(model.name):
            table = other.table
            referencing = table.c[link.name] == record_id
            on_delete = link.get("on_delete", "restrict")
            if on_delete == "restrict":
                count = conn.execute(select(func.count()).select_from(table).where(referencing)).scalar_one()
                if count:
                    raise Conflict(
                        f"{model.name} {record_id} is still used by {count} {other.name} record(s) "
                        f"(field {link.name}); change or delete them first",
                        blocking={"entity": other.name, "field": link.name, "count": count},
                    )
            elif on_delete == "set_null":
                conn.execute(table.update().where(referencing).values({link.name: None}))
            else:
                for row in conn.execute(select(table).where(referencing)).mappings().all():
                    self._delete(conn, other, serialize_row(other, row), actor, depth + 1)
        for child_field in model.child_fields():
            child = self.model.entity(str(child_field.get("child_entity")))
            for row in (
                conn.execute(
                    select(child.table).where(
                        child.table.c.parent_id == record_id, child.table.c.parent_field == child_field.name
                    )
                )
                .mappings()
                .all()
            ):
                self._delete(conn, child, serialize_row(child, row), actor, depth + 1)
        conn.execute(model.table.delete().where(model.table.c.id == record_id))
        for hook in self.hooks.after_delete:
            hook(event)

    def _links_to(self, entity: str) -> Iterator[tuple[EntityModel, FieldDef]]:
        for other in self.model.entities.values():
            for definition in other.column_fields():
                if definition.type == "link" and definition.get("target") == entity:
                    yield other, definition

    # --- list ---------------------------------------------------------------------------------
    def list(
        self, entity: str, query: ListQuery, actor: Actor = SYSTEM, conn: Connection | None = None
    ) -> Page:
        """Return one page of records matching the query (keyset paging when a cursor is given)."""
        model = self.model.entity(entity)
        actor = self._actor(actor)
        with self.transaction(conn) as c:
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
            rows = c.execute(statement).mappings().all()
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
                model, self.registry, query, conditions + self._scope(model, actor), c.dialect.name
            )
            rows = c.execute(statement).mappings().all()
        return shape_rows(query, rows)

    # --- helpers ------------------------------------------------------------------------------
    def _check_values(
        self,
        conn: Connection,
        model: EntityModel,
        values: dict[str, Any],
        record_id: int | None,
        problems: ProblemList,
        prefix: str,
        actor: Actor = SYSTEM,
    ) -> None:
        # Links are checked against what ``actor`` may read (metamodel.records.links).
        for definition in model.column_fields():
            name = definition.name
            value = values.get(name)
            if value is None:
                continue
            if definition.type == "link":
                target = self.model.entity(str(definition.get("target")))
                exists = self._statements.get((target.table, "exists"))
                if exists is None:
                    exists = select(target.table.c.id).where(target.table.c.id == bindparam("_record_id"))
                    self._statements[(target.table, "exists")] = exists
                scope = [] if target.entity.is_child else self._scope(target, actor)
                if not link_allowed(conn, exists, value, scope, model, name, record_id):
                    problems.add(f"{prefix}{name}", f"{target.name} {value} does not exist", "reference")
            elif definition.type == "attachment":
                found = conn.execute(select(attachments.c.id).where(attachments.c.id == value)).first()
                if found is None:
                    problems.add(f"{prefix}{name}", f"attachment {value} does not exist", "reference")
            if definition.unique:
                clash = select(model.table.c.id).where(equals(model, name, value))
                if record_id is not None:
                    clash = clash.where(model.table.c.id != record_id)
                other = conn.execute(clash.limit(1)).scalar()
                if other is not None:
                    problems.add(
                        f"{prefix}{name}",
                        f"must be unique; {model.name} {other} already has this value",
                        "unique",
                    )

    def _prepare_lines(
        self,
        conn: Connection,
        model: EntityModel,
        children: dict[str, builtins.list[Any]],
        parent_id: int | None,
        problems: ProblemList,
        actor: Actor = SYSTEM,
    ) -> dict[str, builtins.list[tuple[int | None, dict[str, Any]]]]:
        prepared: dict[str, builtins.list[tuple[int | None, dict[str, Any]]]] = {}
        for field_name, rows in children.items():
            child = self.model.entity(str(model.fields[field_name].get("child_entity")))
            existing: set[int] = set()
            if parent_id is not None:
                table = child.table
                existing = set(
                    conn.execute(
                        select(table.c.id).where(
                            table.c.parent_id == parent_id, table.c.parent_field == field_name
                        )
                    ).scalars()
                )
            lines: builtins.list[tuple[int | None, dict[str, Any]]] = []
            for index, row in enumerate(rows):
                prefix = f"{field_name}[{index}]."
                line_id = row.get("id")
                if line_id is not None and line_id not in existing:
                    problems.add(f"{prefix}id", f"line {line_id} is not a line of this record", "reference")
                    continue
                values, _ = prepare_values(child, self.registry, row, problems, creating=True, prefix=prefix)
                self._check_values(conn, child, values, line_id, problems, prefix, actor)
                lines.append((line_id, values))
            prepared[field_name] = lines
        return prepared

    def _write_lines(
        self,
        conn: Connection,
        model: EntityModel,
        parent_id: int,
        lines: dict[str, builtins.list[tuple[int | None, dict[str, Any]]]],
        actor: Actor,
    ) -> None:
        for field_name, rows in lines.items():
            child = self.model.entity(str(model.fields[field_name].get("child_entity")))
            table = child.table
            keep = {line_id for line_id, _ in rows if line_id is not None}
            mine = and_(table.c.parent_id == parent_id, table.c.parent_field == field_name)
            stale = select(table.c.id).where(mine, table.c.id.not_in(keep) if keep else true())
            conn.execute(table.delete().where(table.c.id.in_(stale.scalar_subquery())))
            for number, (line_id, values) in enumerate(rows, start=1):
                common = {
                    **with_search_hashes(child, values),
                    "line_no": number,
                    "updated_at": actor.now,
                    "updated_by": actor.user_id,
                }
                if line_id is None:
                    conn.execute(
                        table.insert().values(
                            **common,
                            parent_id=parent_id,
                            parent_field=field_name,
                            lock_version=1,
                            created_at=actor.now,
                            created_by=actor.user_id,
                            owner_id=actor.user_id,
                        )
                    )
                else:
                    conn.execute(
                        table.update()
                        .where(table.c.id == line_id)
                        .values(**common, lock_version=table.c.lock_version + 1)
                    )


def _guard(conn: Connection, savepoint: bool) -> AbstractContextManager[Any]:
    # A savepoint keeps a caller's transaction usable after a constraint clash; when the runtime
    # owns the transaction the clash ends it anyway (the Conflict rolls it back), so skip the
    # two extra round trips.
    return conn.begin_nested() if savepoint else nullcontext()


def _reason(exc: IntegrityError) -> str:
    text = str(exc.orig).splitlines()[0] if exc.orig is not None else "constraint violated"
    return text[:200]
