"""Global search for the pages: the runtime's search over every entity in her sidebar, with titles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_login import current_user

from crm_platform.pages.helpers import field_text
from crm_platform.pages.nav import NavEntity, navigation
from crm_platform.services import services
from metamodel.model import EntityModel
from metamodel.records.globalsearch import MAX_TEXT, search_entities

PER_ENTITY = 5
__all__ = ["MAX_TEXT", "Hit", "HitGroup", "record_title", "search_everywhere"]


@dataclass
class Hit:
    """One record found: where it links, its title and one more field to tell it apart."""

    entity: str
    record_id: int
    title: str
    number: str
    detail: str = ""


@dataclass
class HitGroup:
    """The records found in one entity (``more``: the entity's list has further matches)."""

    entity: NavEntity
    group: str
    hits: list[Hit] = field(default_factory=list)
    more: bool = False


def record_title(model: EntityModel, record: dict[str, Any]) -> str:
    """Return a record's title as the user may see it: its title field, else its number, else #id."""
    name = model.entity.title_field
    value = record.get(name) if name else None
    if value not in (None, ""):
        return field_text(model, str(name), value)
    return str(record.get("record_no") or f"#{record.get('id')}")


def _detail(model: EntityModel, record: dict[str, Any]) -> str:
    """The first list field besides the title with a value (already masked or left out as she may see it)."""
    shown = model.entity.doc.get("list_fields") or [f.name for f in model.column_fields()]
    for name in shown:
        if name == model.entity.title_field or name not in model.fields or record.get(name) in (None, ""):
            continue
        if model.fields[name].type in ("link", "child_table", "attachment", "long_text"):
            continue
        return field_text(model, name, record[name])
    return ""


def search_everywhere(text: str, per_entity: int = PER_ENTITY) -> list[HitGroup]:
    """Return the matches of ``text`` in every entity the signed-in user may read, grouped by entity."""
    svc = services()
    site = svc.metadata.model()
    entries = {e.name: (e, group.label) for group in navigation() for e in group.entities}
    found = search_entities(svc.runtime(), list(entries), text, current_user.actor(), per_entity)
    groups = []
    for hits in found:
        model = site.entity(hits.entity)
        entry, group_label = entries[hits.entity]
        rows = [
            Hit(
                hits.entity,
                int(item["id"]),
                record_title(model, item),
                str(item.get("record_no") or ""),
                _detail(model, item),
            )
            for item in hits.items
        ]
        groups.append(HitGroup(entry, group_label, rows, hits.more))
    return groups
