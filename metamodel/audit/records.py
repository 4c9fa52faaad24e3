"""Record hooks that log every create, update and delete in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from metamodel.audit.log import log_record_change
from metamodel.audit.masking import mask_value
from metamodel.model import EntityModel
from metamodel.records.hooks import DeleteEvent, RecordHooks, SaveEvent
from metamodel.records.values import serialize_row

OriginSource = Callable[[], "str | None"]
_OWNER = "owner_id"  # not a field, but who owns a record matters to an auditor
_POOL_OPERATIONS = {
    "claim": "claimed {entity} {id} from the pool",
    "release": "released {entity} {id} to the pool",
}


def install_record_audit(hooks: RecordHooks, origin: OriginSource | None = None) -> None:
    """Log record changes; ``origin`` says where an operation comes from when its actor does not."""
    audit = RecordAudit(origin)
    hooks.after_save.append(audit.after_save)
    hooks.after_delete.append(audit.after_delete)


class RecordAudit:
    """The after-save and after-delete hooks of the audit log."""

    def __init__(self, origin: OriginSource | None = None) -> None:
        self.origin = origin or (lambda: None)

    def after_save(self, event: SaveEvent) -> None:
        """Log a create with every value, or an update with the fields it changed."""
        if event.record_id is None:
            return
        model = event.entity
        after = _serialized(model, event.values)
        site = getattr(event.runtime, "model", None)
        if site is not None and model.child_fields():
            after.update(_lines(event.conn, site, model, event.record_id))
        action = f"record.{event.action}"
        if event.action == "create":
            changes = {name: [None, value] for name, value in after.items()}
            summary = f"created {model.name} {event.record_id}"
        elif event.operation in _POOL_OPERATIONS:
            action = f"record.{event.operation}"
            changes = {_OWNER: [(event.before or {}).get(_OWNER), after.get(_OWNER)]}
            summary = _POOL_OPERATIONS[event.operation].format(entity=model.name, id=event.record_id)
        else:
            before = event.before or {}
            changes = {
                name: [_plain(before.get(name)), value]
                for name, value in after.items()
                if _plain(before.get(name)) != value
            }
            summary = f"updated {model.name} {event.record_id}: " + (", ".join(changes) or "no field changed")
        log_record_change(
            event.conn,
            action,
            event.actor,
            self.origin(),
            entity=model.name,
            record_id=event.record_id,
            summary=summary,
            changes=_masked(site, model, changes),
        )

    def after_delete(self, event: DeleteEvent) -> None:
        """Log a delete with every value the record had (its lines included)."""
        model = event.entity
        if model.entity.is_child:
            return  # lines are logged with their parent's entry
        record = event.record
        names = [d.name for d in model.entity.fields if d.name in record] + [_OWNER]
        changes = {name: [_plain(record.get(name)), None] for name in names}
        site = getattr(event.runtime, "model", None)
        log_record_change(
            event.conn,
            "record.delete",
            event.actor,
            self.origin(),
            entity=model.name,
            record_id=int(record["id"]),
            summary=f"deleted {model.name} {record['id']}",
            changes=_masked(site, model, changes),
        )


def _serialized(model: EntityModel, values: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in values.items():
        definition = model.fields.get(name)
        if definition is not None and model.types[name].has_column:
            found[name] = model.types[name].serialize(definition, value)
        elif name == _OWNER:
            found[name] = value
    return found


def _lines(
    conn: Connection, site: Any, model: EntityModel, record_id: int
) -> dict[str, list[dict[str, Any]]]:
    """Return the record's child lines as stored now, by child-table field."""
    found = {}
    for child_field in model.child_fields():
        child = site.entity(str(child_field.get("child_entity")))
        table = child.table
        rows = conn.execute(
            select(table)
            .where(table.c.parent_id == record_id, table.c.parent_field == child_field.name)
            .order_by(table.c.line_no, table.c.id)
        ).mappings()
        found[child_field.name] = [serialize_row(child, row) for row in rows]
    return found


def _plain(value: Any) -> Any:
    """Drop display-only keys (link titles) from a value read back by the runtime."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "_titles"}
    return value


def _masked(site: Any, model: EntityModel, changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    masked = {}
    for name, pair in changes.items():
        definition = model.fields.get(name)
        if definition is None:
            masked[name] = pair
        elif definition.type == "child_table":
            child = site.entity(str(definition.get("child_entity"))) if site is not None else None
            masked[name] = [_masked_lines(child, side) for side in pair]
        else:
            masked[name] = [mask_value(definition, side) for side in pair]
    return masked


def _masked_lines(child: EntityModel | None, lines: Any) -> Any:
    if child is None or not isinstance(lines, list):
        return None if lines is None else "***"
    return [
        {k: mask_value(child.fields[k], v) if k in child.fields else v for k, v in line.items()}
        for line in lines
        if isinstance(line, dict)
    ]
