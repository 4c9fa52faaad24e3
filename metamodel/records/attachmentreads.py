"""Who may read a stored file: its uploader, and whoever may read a record that holds it in a visible field.

Attachment ids count up, so a download must not trust the id alone. A file is found through the records
whose attachment fields hold it (child lines through their parent record) and read through the record
runtime as the actor, so row scopes, shares and hidden fields decide, as they do for the record itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, select

from metamodel.errors import CrmError
from metamodel.model import EntityModel, SiteModel
from metamodel.records.hooks import Actor
from metamodel.systables import attachments

# Records checked per field: a file is normally held by one record; more only when copied by a system job.
HOLDERS_PER_FIELD = 20

# (entity, record id, test of the record as the actor reads it)
Holder = tuple[str, int, Callable[[dict[str, Any]], bool]]


def uploader_of(conn: Connection, attachment_id: int) -> int | None:
    """Return the id of the user who uploaded an attachment (None: the system, or no such file)."""
    found = conn.execute(select(attachments.c.created_by).where(attachments.c.id == attachment_id)).scalar()
    return None if found is None else int(found)


def may_read_attachment(runtime: Any, attachment_id: int, actor: Actor) -> bool:
    """Whether ``actor`` may download attachment ``attachment_id`` (which must exist)."""
    if actor.user_id is None or actor.is_admin:
        return True
    with runtime.engine.connect() as conn:
        if uploader_of(conn, attachment_id) == actor.user_id:
            return True
        holders = list(_holders(conn, runtime.model, attachment_id))
    for entity, record_id, holds in holders:
        try:
            record = runtime.get(entity, record_id, actor)
        except CrmError:  # not visible to the actor (or gone meanwhile)
            continue
        if holds(record):
            return True
    return False


def _holders(conn: Connection, site: SiteModel, attachment_id: int) -> Iterator[Holder]:
    for model in site.entities.values():
        for definition in model.column_fields():
            if definition.type != "attachment":
                continue
            name = definition.name
            column = model.table.c[name]
            if not model.entity.is_child:
                query = select(model.table.c.id).where(column == attachment_id).limit(HOLDERS_PER_FIELD)
                for record_id in conn.execute(query).scalars():
                    yield model.name, int(record_id), _field_holds(name, attachment_id)
                continue
            table = model.table
            query = (
                select(table.c.parent_id, table.c.parent_field)
                .where(column == attachment_id)
                .limit(HOLDERS_PER_FIELD)
            )
            for parent_id, parent_field in conn.execute(query).all():
                parent = _parent_entity(site, model, str(parent_field))
                if parent is not None:
                    yield parent.name, int(parent_id), _line_holds(str(parent_field), name, attachment_id)


def _parent_entity(site: SiteModel, child: EntityModel, parent_field: str) -> EntityModel | None:
    for model in site.entities.values():
        definition = model.fields.get(parent_field)
        if definition is not None and definition.type == "child_table":
            if definition.get("child_entity") == child.name:
                return model
    return None


def _field_holds(name: str, attachment_id: int) -> Callable[[dict[str, Any]], bool]:
    # A hidden field is left out of the record the actor reads; a masked one does not show the id.
    return lambda record: record.get(name) == attachment_id


def _line_holds(lines: str, name: str, attachment_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda record: any(
        isinstance(line, dict) and line.get(name) == attachment_id for line in record.get(lines) or []
    )
