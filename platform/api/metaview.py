"""The published model as one user may read it: entities she may read, less the fields hidden from her."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import Connection

from crm_platform.api.common import actor
from crm_platform.api.entityspec import EntityView
from crm_platform.services import services
from metamodel.access import AccessDenied
from metamodel.access.enforcement import require
from metamodel.access.fields import HIDDEN
from metamodel.access.fieldsecurity import field_access
from metamodel.definitions import EntityDef
from metamodel.model import SiteModel
from metamodel.records.hooks import Actor


def readable_docs(entities: list[EntityDef]) -> list[dict[str, Any]]:
    """Return the documents of ``entities`` as the signed-in user may see them (administrators: all)."""
    runtime = services().runtime()
    shown: list[dict[str, Any]] = []
    with runtime.engine.connect() as conn:
        who = runtime.resolve(actor(), conn)
        readable = _readable_entities(conn, runtime.model, who)
        for entity in entities:
            if entity.name not in readable:
                continue
            access = field_access(conn, who, runtime.model.entity(entity.name))
            doc = dict(entity.doc)
            doc["fields"] = [
                field
                for field in doc.get("fields") or []
                if getattr(access.get(str(field.get("name"))), "level", None) != HIDDEN
            ]
            shown.append(doc)
    return shown


def entity_view() -> EntityView:
    """Return the entities the signed-in user may read with her field rules (anonymous: none)."""
    if not getattr(current_user, "is_authenticated", False):
        return EntityView()
    runtime = services().runtime()
    with runtime.engine.connect() as conn:
        who = runtime.resolve(actor(), conn)
        readable = _readable_entities(conn, runtime.model, who)
        return EntityView(
            {name: field_access(conn, who, runtime.model.entity(name)) for name in sorted(readable)}
        )


def _readable_entities(conn: Connection, site: SiteModel, who: Actor) -> set[str]:
    # Lines are read through their parent: a child entity is readable when a readable parent holds it.
    readable: set[str] = set()
    for name, model in site.entities.items():
        if model.entity.is_child:
            continue
        try:
            require(conn, who, name, "read")
        except AccessDenied:
            continue
        readable.add(name)
        readable.update(str(f.get("child_entity")) for f in model.child_fields())
    return readable
