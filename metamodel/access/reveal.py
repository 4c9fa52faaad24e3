"""Revealing masked or hidden values: an explicit call, allowed per role and field, and always audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from metamodel.access.errors import AccessDenied
from metamodel.access.fieldsecurity import FieldSecurity
from metamodel.audit.log import write_for_actor
from metamodel.errors import Problem, RecordInvalid
from metamodel.pool.view import pool_user_fields
from metamodel.records.hooks import Actor
from metamodel.records.runtime import SYSTEM, RecordRuntime

MAX_FIELDS = 50


def reveal(
    runtime: RecordRuntime,
    entity: str,
    record_id: int,
    fields: Iterable[Any],
    actor: Actor,
    origin: str | None = None,
) -> dict[str, Any]:
    """Return the clear values of ``fields`` of a record the actor can see; logs who revealed which fields.

    Refused (403) for a field she may not reveal; the audit entry names the fields, never the values.
    """
    model = runtime.model.entity(entity)
    names = _field_names(fields, model.fields)
    with runtime.transaction() as conn:
        resolved = runtime.resolve(actor, conn)
        shown = runtime.get(entity, record_id, resolved, conn=conn)  # NotFound unless she may read the record
        pooled = (
            [name for name in names if name in pool_user_fields(model, resolved)]
            if shown.get("owner_id") is None
            else []
        )
        if pooled:
            raise AccessDenied(
                entity, "reveal", f"claim {entity} {record_id} from the pool to see {', '.join(pooled)}"
            )
        rules = FieldSecurity().rules(resolved, model)
        refused = [name for name in names if name in rules and not rules[name].reveal]
        if refused:
            raise AccessDenied(
                entity, "reveal", f"you may not reveal {', '.join(refused)} of {entity} records"
            )
        stored = runtime.get(entity, record_id, SYSTEM, conn=conn)
        write_for_actor(
            conn,
            "record.reveal",
            resolved,
            origin,
            entity=entity,
            record_id=record_id,
            summary=f"revealed {', '.join(names)}",
            changes={"fields": names},
        )
        return {name: stored.get(name) for name in names}


def _field_names(fields: Iterable[Any], known: Iterable[str]) -> list[str]:
    if isinstance(fields, str) or not isinstance(fields, Iterable):
        raise RecordInvalid(
            "'fields' must be a list of field names", [Problem("fields", "expected a list", "type")]
        )
    names = list(dict.fromkeys(fields))
    known_names = set(known)
    problems = [
        Problem(f"fields[{index}]", f"unknown field '{str(name)[:80]}'", "unknown_field")
        for index, name in enumerate(names)
        if not isinstance(name, str) or name not in known_names
    ]
    if not names:
        problems.append(Problem("fields", "name at least one field", "required"))
    if len(names) > MAX_FIELDS:
        problems.append(Problem("fields", f"at most {MAX_FIELDS} fields at a time", "range"))
    if problems:
        raise RecordInvalid("the fields to reveal are not valid", problems)
    return names
