"""The save pipeline: every create, update and owner change runs the same ordered steps.

actor → permissions → field guards → prepare once → checks → before-hooks → write → after-hooks.
The API, imports, forms and rule actions hand raw input to it; nothing is validated twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from metamodel.crypto.records import with_search_hashes
from metamodel.errors import Conflict, CrmError, NotFound, Problem, ProblemList, RecordInvalid
from metamodel.model import EntityModel
from metamodel.records.autonumber import next_number
from metamodel.records.base import SYSTEM
from metamodel.records.batch import is_optimistic
from metamodel.records.hooks import Actor, SaveEvent, with_create_defaults
from metamodel.records.lines import PreparedLines, RecordLines
from metamodel.records.statements import UPDATE_ID, UPDATE_VERSION, guarded_update_of, insert_of
from metamodel.records.values import prepare_values

# The operation of a save storing recomputed roll-ups and formulas (see ``write_derived``).
DERIVE = "derive"
MAX_DERIVE_DEPTH = 10
_DEPTH_KEY = "crm_derive_depth"


@dataclass
class SaveRequest:
    """One save as the pipeline runs it."""

    model: EntityModel
    raw: Mapping[str, Any]
    actor: Actor
    record_id: int | None = None  # None: create
    expected_version: int | None = None
    operation: str = "update"  # the permission checked: create, update, claim, release
    replace: bool = False  # fields left out become empty (PUT), except those the actor may not write
    prepared: dict[str, Any] | None = None  # values already typed (owner changes): no guards, no prepare
    read_back: bool = (
        True  # False: return only the id (a batch reads what it needs for all its records at once)
    )


@dataclass
class _Prepared:
    values: dict[str, Any]
    lines: PreparedLines
    event: SaveEvent


class RecordSaves(RecordLines):
    """Create, update and owner change, all through ``_save``."""

    def create(
        self,
        entity: str,
        raw: Mapping[str, Any],
        actor: Actor = SYSTEM,
        conn: Connection | None = None,
        *,
        read_back: bool = True,
    ) -> dict[str, Any]:
        """Validate and insert a record (with its child lines); returns the stored record (only its id without ``read_back``)."""
        model = self.model.entity(entity)
        if model.entity.is_child:
            raise NotFound(f"'{entity}' records only exist as lines of their parent")
        _require_object(raw)
        return self._save(SaveRequest(model, raw, actor, operation="create", read_back=read_back), conn)

    def update(
        self,
        entity: str,
        record_id: int,
        raw: Mapping[str, Any],
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        conn: Connection | None = None,
        *,
        replace: bool = False,
        read_back: bool = True,
    ) -> dict[str, Any]:
        """Change the given fields (all writable ones with ``replace``); Conflict when ``expected_version`` is stale."""
        model = self.model.entity(entity)
        _require_object(raw)
        request = SaveRequest(
            model, raw, actor, record_id, expected_version, replace=replace, read_back=read_back
        )
        return self._save(request, conn)

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
        values: dict[str, Any] = {"owner_id": owner_id}
        request = SaveRequest(
            model, values, actor, record_id, expected_version, operation=operation, prepared=values
        )
        return self._save(request, conn)

    def write_derived(
        self,
        entity: str,
        record_id: int,
        values: Mapping[str, Any],
        actor: Actor,
        conn: Connection,
        *,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Store recomputed roll-ups or formulas of a record as an update of its own.

        Another record's save moved them (a child added to a parent, a linked value changed), so
        no permission is checked again: the write is a consequence of a permitted one.  It bumps
        ``lock_version``, is audited and fires the record's update triggers like any update.
        Nested derived writes (a parent's trigger changing a child, ...) stop with RecordInvalid
        after ``MAX_DERIVE_DEPTH`` levels.
        """
        model = self.model.entity(entity)
        depth = int(conn.info.get(_DEPTH_KEY, 0))
        if depth >= MAX_DERIVE_DEPTH:
            message = (
                f"computed values of {entity} {record_id} would change again more than "
                f"{MAX_DERIVE_DEPTH} levels deep: roll-ups, formulas and update rules form a loop"
            )
            raise RecordInvalid(message, [Problem("", message, "derive_depth")])
        request = SaveRequest(
            model, values, actor, record_id, expected_version, operation=DERIVE, prepared=dict(values)
        )
        conn.info[_DEPTH_KEY] = depth + 1
        try:
            return self._save(request, conn)
        finally:
            conn.info[_DEPTH_KEY] = depth

    # --- the pipeline ---------------------------------------------------------------------------
    def _save(self, request: SaveRequest, conn: Connection | None) -> dict[str, Any]:
        model = request.model
        with self.transaction(conn, write=True) as c:
            actor = self._resolve(self._actor(request.actor), c)
            before = self._before(c, request, actor)
            raw = self._replaced(c, request, actor, before) if request.replace else request.raw
            if request.operation != DERIVE:
                self._permit(
                    c, model, request.operation, actor, request.record_id, _planned(model, request, raw)
                )
            prepared = self._prepare(c, request, raw, actor, before)
            for hook in self.hooks.before_save:
                hook(prepared.event)
            if prepared.event.problems:
                raise RecordInvalid(f"the {model.name} record is not valid", prepared.event.problems.problems)
            if before is None:
                record_id = self._insert(
                    c, model, self._new_row(c, model, prepared.values, actor), conn is not None
                )
                prepared.event.record_id = record_id
            else:
                record_id = before["id"]
                self._change(
                    c, model, record_id, before["lock_version"], prepared.values, actor, conn is not None
                )
            self._write_lines(c, model, record_id, prepared.lines, actor)
            for hook in self.hooks.after_save:
                hook(prepared.event)
            if not request.read_back:
                return {"id": record_id}
            return self._present(model, actor, self._read(c, model, record_id, actor, scoped=False))

    def _before(self, conn: Connection, request: SaveRequest, actor: Actor) -> dict[str, Any] | None:
        # The stored record an update starts from: visible to the actor and at the expected version.
        if request.record_id is None:
            return None
        model, record_id, expected = request.model, request.record_id, request.expected_version
        derived = request.operation == DERIVE
        if not derived:
            self._permit(conn, model, "read", actor)
        before = self._read(conn, model, record_id, actor, scoped=not derived)
        current = before["lock_version"]
        if expected is not None and expected != current:
            if request.prepared is not None:
                raise Conflict(
                    f"{model.name} {record_id} was changed by someone else; reload it and try again"
                )
            raise Conflict(
                f"{model.name} {record_id} was changed by someone else (version {current}, you had "
                f"{expected}); reload it and apply your change again",
                current_version=current,
            )
        return before

    def _replaced(
        self, conn: Connection, request: SaveRequest, actor: Actor, before: dict[str, Any] | None
    ) -> Mapping[str, Any]:
        # A whole record replaces the stored one: fields left out become empty, except the ones the
        # actor may not write (read-only, masked, hidden for her), which stay as they are.
        model = request.model
        restricted = self._guard_fields(conn, model, "replace", set(model.fields), actor, before=before)
        return {**{f.name: None for f in model.entity.fields if f.name not in restricted}, **request.raw}

    def _prepare(
        self,
        conn: Connection,
        request: SaveRequest,
        raw: Mapping[str, Any],
        actor: Actor,
        before: dict[str, Any] | None,
    ) -> _Prepared:
        # Field guards, then the one conversion of the input, then the checks against stored data.
        model, record_id = request.model, request.record_id
        problems = ProblemList()
        lines: PreparedLines = {}
        if request.prepared is not None:
            values = request.prepared
        else:
            refused: CrmError | None = None
            try:
                raw = self._guard_write(conn, model, raw, actor, before)
                if before is None:
                    raw = with_create_defaults(self.hooks, self.model, model, raw)
            except CrmError as exc:
                if exc.status != 403:
                    raise
                refused = exc
            values, children = prepare_values(model, self.registry, raw, problems, creating=before is None)
            lines = self._prepare_lines(conn, model, children, record_id, problems, actor)
            if refused is not None:
                # A malformed value is named before access is judged (the old schema step did so);
                # a missing one is not: she may not be allowed to fill it in.
                if any(problem.code != "required" for problem in problems.problems):
                    raise RecordInvalid(f"the {model.name} record is not valid", problems.problems)
                raise refused
            self._check_values(conn, model, values, record_id, problems, "", actor)
        action = "create" if before is None else "update"
        operation = request.operation if request.prepared is not None else None
        event = SaveEvent(
            model, action, values, before, actor, conn, problems, record_id, runtime=self, operation=operation
        )
        return _Prepared(values, lines, event)

    def _new_row(
        self, conn: Connection, model: EntityModel, values: dict[str, Any], actor: Actor
    ) -> dict[str, Any]:
        now = actor.now
        assert now is not None
        return {
            **with_search_hashes(model, values),
            "lock_version": 1,
            "owner_id": values.get("owner_id", actor.user_id),
            "created_at": now,
            "created_by": actor.user_id,
            "updated_at": now,
            "updated_by": actor.user_id,
            "record_no": next_number(conn, model.entity.id, model.entity.autonumber, now)
            if model.entity.autonumber
            else None,
        }

    def _insert(
        self, conn: Connection, model: EntityModel, row: dict[str, Any], savepoint: bool = True
    ) -> int:
        try:
            with _guard(conn, savepoint):
                result = conn.execute(self._prepared(model, "insert", insert_of), row)
        except IntegrityError as exc:
            raise Conflict(f"the {model.name} record clashes with another record: {_reason(exc)}") from None
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def _change(
        self,
        conn: Connection,
        model: EntityModel,
        record_id: int,
        current: int,
        values: dict[str, Any],
        actor: Actor,
        savepoint: bool,
    ) -> None:
        # Guarded by lock_version: of two concurrent writers exactly one succeeds.
        changes = {
            **with_search_hashes(model, values),
            "lock_version": current + 1,
            "updated_at": actor.now,
            "updated_by": actor.user_id,
        }
        try:
            with _guard(conn, savepoint):
                result = conn.execute(
                    self._prepared(model, "update", guarded_update_of),
                    {**changes, UPDATE_ID: record_id, UPDATE_VERSION: current},
                )
        except IntegrityError as exc:
            raise Conflict(f"the {model.name} record clashes with another record: {_reason(exc)}") from None
        if result.rowcount != 1:
            raise Conflict(f"{model.name} {record_id} was changed by someone else; reload it and try again")


def _require_object(raw: Any) -> None:
    if not isinstance(raw, Mapping):
        raise RecordInvalid("the record must be a JSON object", [Problem("", "expected an object", "type")])


def _planned(model: EntityModel, request: SaveRequest, raw: Mapping[str, Any]) -> dict[str, Any]:
    # What the permission check sees before the input is converted: the column fields given (for
    # an update, the fields it touches) and the owner asked for, when it reads as a user id.
    if request.prepared is not None:
        return request.prepared
    planned = {name: raw[name] for name in raw if name in model.fields and model.types[name].has_column}
    owner = raw.get("owner_id")
    if owner not in (None, ""):
        try:
            planned["owner_id"] = int(owner)
        except (TypeError, ValueError):
            pass  # the prepare step reports it
    return planned


def _guard(conn: Connection, savepoint: bool) -> AbstractContextManager[Any]:
    # A savepoint keeps a caller's transaction usable after a constraint clash; when the runtime
    # owns the transaction the clash ends it anyway (the Conflict rolls it back), so skip the
    # two extra round trips.  An optimistic batch rolls back its own savepoint on a clash instead.
    return conn.begin_nested() if savepoint and not is_optimistic(conn) else nullcontext()


def _reason(exc: IntegrityError) -> str:
    text = str(exc.orig).splitlines()[0] if exc.orig is not None else "constraint violated"
    return text[:200]
