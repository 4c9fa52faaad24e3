"""Global search: one query over every entity the user may read, through the record runtime.

Each entity is searched with the runtime's own list query (``q``), so row scopes, shares and field
rules hold exactly as on the entity's list: a masked or hidden field is never searched for her.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_login import current_user

from crm_platform.pages.helpers import field_text
from crm_platform.pages.nav import NavEntity, navigation
from crm_platform.services import services
from metamodel.errors import CrmError
from metamodel.model import EntityModel
from metamodel.records.query import ListQuery

PER_ENTITY = 5
MAX_TEXT = 200


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
    text = text.strip()[:MAX_TEXT]
    if not text:
        return []
    svc = services()
    site = svc.metadata.model()
    runtime = svc.runtime()
    actor = current_user.actor()
    found: list[HitGroup] = []
    for group in navigation():
        for entry in group.entities:
            model = site.entities.get(entry.name)
            if model is None:
                continue
            try:
                page = runtime.list(entry.name, ListQuery(search=text, limit=per_entity), actor)
            except CrmError:  # refused or unsearchable for her: that entity simply has no hits
                continue
            if not page.items:
                continue
            hits = [
                Hit(
                    entry.name,
                    int(item["id"]),
                    record_title(model, item),
                    str(item.get("record_no") or ""),
                    _detail(model, item),
                )
                for item in page.items
            ]
            found.append(HitGroup(entry, group.label, hits, page.has_more))
    return found
