"""What every record operation shares: the bound metadata, transactions, the actor, permissions and record views."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from metamodel.database import write_transaction
from metamodel.model import EntityModel, SiteModel
from metamodel.records.hooks import AccessRequest, Actor, FieldUse, RecordHooks

SYSTEM = Actor()
# The label of the active metadata version when a statement reads it along (VersionGuard.column).
ACTIVE_VERSION = "_active_version"


@dataclass(frozen=True)
class VersionGuard:
    """How a transaction confirms it sees the metadata version the runtime's model was compiled from.

    ``check`` runs one statement of its own and raises when the version differs. A read whose one
    statement can carry ``column`` (the active version, labelled ACTIVE_VERSION) checks the number it
    read with ``verify`` instead: the same snapshot, one statement fewer.
    """

    check: Callable[[Connection], None]
    column: ColumnElement[Any]
    verify: Callable[[Any], None]


def utcnow() -> dt.datetime:
    """Return the current time in UTC."""
    return dt.datetime.now(dt.UTC)


class RuntimeBase:
    """The state and the access steps every part of the record runtime builds on."""

    def __init__(
        self,
        model: SiteModel,
        engine: Engine,
        hooks: RecordHooks | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        guard: VersionGuard | None = None,
    ) -> None:
        self.model = model
        # Checked in each transaction the runtime opens (the platform checks the metadata version).
        self.guard = guard
        self.engine = engine
        self.hooks = hooks or RecordHooks()
        self.clock = clock
        self.registry = model.registry
        # Statements that only depend on a table, built once per table: building and hashing a
        # fresh SELECT costs more than running it on a primary key.
        self._statements: dict[tuple[Any, str], Any] = {}

    def _prepared(self, model: EntityModel, kind: str, build: Callable[[EntityModel], Any]) -> Any:
        # The statement ``build`` makes for the entity's table, built on first use.
        key = (model.table, kind)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build(model)
        return statement

    @contextmanager
    def transaction(
        self, conn: Connection | None = None, *, write: bool = False, checks_version: bool = False
    ) -> Iterator[Connection]:
        """Yield ``conn`` when given, else a new connection in a transaction committed at the end.

        ``write``: on SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE), so it
        waits its turn instead of failing when it upgrades from reading to writing.
        ``checks_version``: the caller's statement reads the metadata version along
        (``versioned``) and verifies it, so the transaction does not check it first.
        """
        if conn is not None:
            yield conn
            return
        with write_transaction(self.engine) if write else self.engine.begin() as new_conn:
            if self.guard is not None and not checks_version:
                self.guard.check(new_conn)
            yield new_conn

    def versioned(self, statement: Any) -> Any:
        """Return ``statement`` reading the active metadata version along (when a guard is set)."""
        return statement if self.guard is None else statement.add_columns(self.guard.column)

    def verify_version(self, conn: Connection, row: Any) -> None:
        """Check the version a ``versioned`` statement read; with no row, check with a statement."""
        if self.guard is None:
            return
        if row is None:
            self.guard.check(conn)
        else:
            self.guard.verify(row[ACTIVE_VERSION])

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

    def scope_clauses(self, entity: str, actor: Actor) -> list[ColumnElement[bool]]:
        """Return the WHERE clauses limiting ``entity`` rows to those a resolved actor may read."""
        return self._scope(self.model.entity(entity), actor)

    def _scope(self, model: EntityModel, actor: Actor) -> list[ColumnElement[bool]]:
        clauses = [scope(model, actor) for scope in self.hooks.query_scopes]
        return [c for c in clauses if c is not None]
