"""The signed-in user's field rules for the pages: which fields a form hides, locks or masks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import g
from flask_login import current_user

from crm_platform.services import services
from metamodel.access.fields import FieldAccess
from metamodel.access.fieldsecurity import FieldSecurity
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor

_READER = "crm_reader"


def signed_in_reader() -> Actor:
    """Return the signed-in user as the runtime's actor with her grants attached, read once per request.

    What a page shows her (masks, the sidebar, which buttons) is judged on these grants; every record
    operation still reads her grants again in its own transaction, which is what enforces access.
    """
    actor = current_user.actor()
    held = g.get(_READER)
    if held is not None and held.user_id == actor.user_id:  # the same user (not one who signed in since)
        return held  # type: ignore[no-any-return]
    runtime = services().runtime()
    with runtime.engine.connect() as conn:
        reader: Actor = runtime.resolve(actor, conn)
    setattr(g, _READER, reader)
    return reader


def reader_access() -> Callable[[EntityModel], Mapping[str, FieldAccess]]:
    """Return a look-up of the current user's restricted fields per entity (her grants read once)."""
    reader = signed_in_reader()
    security = FieldSecurity()
    return lambda model: security.rules(reader, model)


def writable_only(
    data: dict[str, Any], model: EntityModel, access: Callable[[EntityModel], Mapping[str, FieldAccess]]
) -> dict[str, Any]:
    """Drop posted values of fields the user may not change (the form showed them disabled, or not at all)."""
    rules = access(model)
    kept = {name: value for name, value in data.items() if name not in rules}
    for definition in model.child_fields():
        lines = kept.get(definition.name)
        if isinstance(lines, list):
            child = services().metadata.model().entity(str(definition.get("child_entity")))
            child_rules = access(child)
            kept[definition.name] = [
                {k: v for k, v in line.items() if k not in child_rules} if isinstance(line, dict) else line
                for line in lines
            ]
    return kept
