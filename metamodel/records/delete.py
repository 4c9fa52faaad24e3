"""Deleting records: each referencing link's delete behaviour (restrict, set null, cascade) and the lines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, select

from metamodel.definitions import FieldDef
from metamodel.errors import Conflict
from metamodel.model import EntityModel
from metamodel.records.base import SYSTEM
from metamodel.records.hooks import Actor, DeleteEvent
from metamodel.records.reads import RecordReads
from metamodel.records.values import serialize_row

_MAX_CASCADE_DEPTH = 10


class RecordDeletes(RecordReads):
    """Deletes of the record runtime."""

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
