"""Extension points of the record runtime: save and delete hooks, and query scopes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
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


@dataclass
class DeleteEvent:
    """A record about to be (or just) deleted."""

    entity: EntityModel
    record: dict[str, Any]
    actor: Actor
    conn: Connection
    runtime: Any = None


SaveHook = Callable[[SaveEvent], None]
DeleteHook = Callable[[DeleteEvent], None]
QueryScope = Callable[[EntityModel, Actor], "ColumnElement[bool] | None"]


@dataclass
class RecordHooks:
    """Lists of callables registered once at start-up by the rule engine, permissions and plugins."""

    before_save: list[SaveHook] = field(default_factory=list)
    after_save: list[SaveHook] = field(default_factory=list)
    before_delete: list[DeleteHook] = field(default_factory=list)
    after_delete: list[DeleteHook] = field(default_factory=list)
    query_scopes: list[QueryScope] = field(default_factory=list)
