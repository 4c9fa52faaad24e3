"""Extension points of the record runtime: save and delete hooks, query scopes, record views and field guards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.elements import ColumnElement

from metamodel.errors import ProblemList
from metamodel.model import EntityModel


@dataclass(frozen=True)
class Actor:
    """Who acts and when: the user (None for the system) and the clock reading of the operation."""

    user_id: int | None = None
    username: str | None = None
    is_admin: bool = False
    now: dt.datetime | None = None
    origin: str | None = None  # where the request came from: a client address, "cli" or "scheduler"
    # What the user may do (roles, org unit), filled by an actor resolver once per operation; the
    # access-control package owns its shape. Left out of equality and hashing.
    grants: Any = field(default=None, compare=False, hash=False)


# A reader known by no user id (e.g. an outside e-mail address): record views apply to it every
# restriction any role has on a field, the safe default. User ids start at 1, so 0 is nobody's.
UNKNOWN_READER = Actor(user_id=0, username="(unknown reader)")


@dataclass
class SaveEvent:
    """A record about to be (or just) written; hooks may change ``values`` or add problems before."""

    entity: EntityModel
    action: str  # create | update
    values: dict[str, Any]
    before: dict[str, Any] | None
    actor: Actor
    conn: Connection
    problems: ProblemList
    record_id: int | None = None
    runtime: Any = None  # the RecordRuntime doing the write, for hooks that write related records
    # Why an update happens when it is more than an edit: "claim" or "release" (owner changes through
    # the lead pool), so the audit log and the pool's bookkeeping can tell.
    operation: str | None = None


@dataclass
class DeleteEvent:
    """A record about to be (or just) deleted."""

    entity: EntityModel
    record: dict[str, Any]
    actor: Actor
    conn: Connection
    runtime: Any = None


@dataclass
class AccessRequest:
    """An operation about to run: checks raise (e.g. a 403 error) to refuse it."""

    entity: EntityModel
    operation: str  # read | create | update | delete | claim | release
    actor: Actor
    conn: Connection
    record_id: int | None = None  # update and delete: the record, already known to be visible
    values: dict[str, Any] | None = None  # create and update: the prepared values


@dataclass
class FieldUse:
    """Fields an operation is about to use: a guard raises to refuse, or returns the names to leave out.

    ``purpose`` is ``write`` (fields given in a create or update payload, or in one of its lines:
    names returned are dropped from the payload, e.g. an unchanged echo of a read-only value), ``filter`` and ``sort`` (a guard
    raises to refuse), ``search`` (the fields the full-text search would look in: names returned
    are not searched), or ``replace`` (a whole-record update: names returned are the fields the
    actor may not write, kept as stored instead of emptied).
    """

    entity: EntityModel
    purpose: str  # write | replace | filter | sort | search | group | measure (reports: like filter)
    fields: frozenset[str]
    actor: Actor
    conn: Connection
    values: dict[str, Any] | None = None  # write: the payload as given (before type conversion)
    before: dict[str, Any] | None = None  # write on update: the stored record (or line), unmasked


SaveHook = Callable[[SaveEvent], None]
DeleteHook = Callable[[DeleteEvent], None]
QueryScope = Callable[[EntityModel, Actor], "ColumnElement[bool] | None"]
ActorResolver = Callable[[Actor, Connection], Actor]
PermissionCheck = Callable[[AccessRequest], None]
# A view gets each record the runtime returns (get, list, create/update results, each child line,
# and a stand-in {"id", <title field>} of every linked record whose title is shown) and returns
# it as this actor may see it: fields removed or masked. It must not change the given dict.
RecordView = Callable[[EntityModel, Actor, dict[str, Any]], dict[str, Any]]
FieldGuard = Callable[[FieldUse], "frozenset[str] | set[str] | None"]
# Values a new record gets for fields the payload leaves out or empty, before any check runs (the
# workflow's initial state, so a required state field need not be sent). Given the runtime's site
# model and the entity, it returns {field: value}.
CreateDefaults = Callable[[Any, EntityModel], "dict[str, Any]"]


_AUTHORIZED_KEY = "crm_authorized_writes"


@contextmanager
def authorized_write(conn: Connection, entity: str, record_id: int, fields: Iterable[str]) -> Iterator[None]:
    """Mark writes of ``fields`` of one record on ``conn`` as part of an operation already permitted.

    A workflow transition, checked as "transition", moves the state with an ordinary update: inside
    this block that update needs no "update" permission and may change the state field even when
    field rules make it read-only for the actor.
    """
    marks: dict[tuple[str, int], frozenset[str]] = conn.info.setdefault(_AUTHORIZED_KEY, {})
    key = (entity, record_id)
    previous = marks.get(key)
    marks[key] = frozenset(fields) | (previous or frozenset())
    try:
        yield
    finally:
        if previous is None:
            marks.pop(key, None)
        else:
            marks[key] = previous


def authorized_fields(conn: Connection, entity: str, record_id: int | None) -> frozenset[str]:
    """Return the fields of a record whose writes on ``conn`` are covered by ``authorized_write``."""
    if record_id is None:
        return frozenset()
    marks: dict[tuple[str, int], frozenset[str]] = conn.info.get(_AUTHORIZED_KEY, {})
    return marks.get((entity, record_id), frozenset())


@dataclass
class RecordHooks:
    """Lists of callables registered once at start-up by the rule engine, permissions and plugins."""

    before_save: list[SaveHook] = field(default_factory=list)
    after_save: list[SaveHook] = field(default_factory=list)
    before_delete: list[DeleteHook] = field(default_factory=list)
    after_delete: list[DeleteHook] = field(default_factory=list)
    query_scopes: list[QueryScope] = field(default_factory=list)
    # Run inside each operation's transaction: resolvers attach what the actor may do, checks
    # refuse operations the actor may not run.
    actor_resolvers: list[ActorResolver] = field(default_factory=list)
    permission_checks: list[PermissionCheck] = field(default_factory=list)
    # Field-level rules: views shape what is returned, guards vet the fields used by writes,
    # filters, sorts and searches.
    record_views: list[RecordView] = field(default_factory=list)
    field_guards: list[FieldGuard] = field(default_factory=list)
    create_defaults: list[CreateDefaults] = field(default_factory=list)


def with_create_defaults(
    hooks: RecordHooks, site: Any, model: EntityModel, raw: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Return ``raw`` with the hooks' create defaults filled in where it leaves a field out or empty."""
    if not hooks.create_defaults:
        return raw
    filled = dict(raw)
    for defaults in hooks.create_defaults:
        for name, value in defaults(site, model).items():
            if filled.get(name) in (None, ""):
                filled[name] = value
    return filled


_QUIET_KEY = "crm_triggers_skipped"


@contextmanager
def triggers_skipped(conn: Connection) -> Iterator[None]:
    """Inside this block saves and deletes on ``conn`` fire no event triggers (an audited admin import option).

    Validation, permissions, field rules, workflow checks and the audit log still run.
    """
    previous = conn.info.get(_QUIET_KEY, False)
    conn.info[_QUIET_KEY] = True
    try:
        yield
    finally:
        conn.info[_QUIET_KEY] = previous


def are_triggers_skipped(conn: Connection) -> bool:
    """Whether ``triggers_skipped`` is in force on ``conn``."""
    return bool(conn.info.get(_QUIET_KEY, False))
