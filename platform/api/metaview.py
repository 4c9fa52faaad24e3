"""The published model as one user may read it: entities she may read, less the fields hidden from her."""

from __future__ import annotations

from typing import Any

from crm_platform.api.common import actor
from crm_platform.services import services
from metamodel.access import AccessDenied
from metamodel.access.enforcement import require
from metamodel.access.fields import HIDDEN
from metamodel.access.fieldsecurity import field_access
from metamodel.definitions import EntityDef


def readable_docs(entities: list[EntityDef]) -> list[dict[str, Any]]:
    """Return the documents of ``entities`` as the signed-in user may see them (administrators: all)."""
    runtime = services().runtime()
    shown: list[dict[str, Any]] = []
    with runtime.engine.connect() as conn:
        who = runtime.resolve(actor(), conn)
        for entity in entities:
            model = runtime.model.entity(entity.name)
            if not model.entity.is_child:  # lines are read through their parent, so follow its rights
                try:
                    require(conn, who, entity.name, "read")
                except AccessDenied:
                    continue
            access = field_access(conn, who, model)
            doc = dict(entity.doc)
            doc["fields"] = [
                field
                for field in doc.get("fields") or []
                if getattr(access.get(str(field.get("name"))), "level", None) != HIDDEN
            ]
            shown.append(doc)
    return shown
