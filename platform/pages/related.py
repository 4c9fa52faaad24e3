"""Related lists of the record page: records of other entities that link here, as the reader may see them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import url_for
from flask_login import current_user

from crm_platform.i18n import current_locale
from crm_platform.pages.nav import navigation
from crm_platform.pages.recordaccess import may
from crm_platform.services import services
from metamodel.access import AccessDenied
from metamodel.errors import BadQuery, NotFound
from metamodel.model import EntityModel
from metamodel.records.query import parse_list_args

SHOWN = 5


def related_lists(model: EntityModel, record_id: int) -> list[dict[str, Any]]:
    """Return one panel per link field of another entity that targets ``model`` and that she may list."""
    svc = services()
    site = svc.metadata.model()
    readable = {e.name for group in navigation() for e in group.entities}
    locale = current_locale()
    panels = []
    for other in site.entities.values():
        if other.entity.is_child or other.name not in readable:
            continue
        for definition in other.column_fields():
            if definition.type != "link" or definition.get("target") != model.name:
                continue
            panel = _panel(other, definition.name, record_id)
            if panel is None:
                continue
            plural = other.entity.doc.get("label_plural") or {}
            panel["title"] = plural.get(locale) or plural.get("en") or other.entity.label(locale)
            panel["via"] = definition.label(locale)
            panels.append(panel)
    return panels


def _panel(other: EntityModel, field: str, record_id: int) -> dict[str, Any] | None:
    svc = services()
    runtime = svc.runtime()
    args = {field: [str(record_id)], "limit": [str(SHOWN)], "count": ["true"], "sort": ["-id"]}
    try:
        page = runtime.list(other.name, parse_list_args(other, svc.field_types, args), current_user.actor())
    except (AccessDenied, BadQuery):
        return None  # the link field is hidden from her, or she may not list these records
    ids = [int(r["id"]) for r in page.items]
    titles = runtime.titles(other.name, ids, actor=current_user.actor()) if ids else {}
    return {
        "entity": other.name,
        "field": field,
        "total": page.total if page.total is not None else len(ids),
        "rows": [
            {
                "url": url_for("pages.record_detail", entity=other.name, record_id=i),
                "title": titles.get(i, f"#{i}"),
            }
            for i in ids
        ],
        "all_url": url_for("pages.record_list", entity=other.name, **_link(field, record_id)),
        "new_url": url_for("pages.record_new", entity=other.name, **_link(field, record_id))
        if may(other.name, "create")
        else None,
    }


def prefilled_links(model: EntityModel, args: Mapping[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """Return link values given in the new-record URL (``?company=5`` from a related list) and their titles.

    Only records she may read are filled in; anything else is ignored, as if not given.
    """
    runtime = services().runtime()
    values: dict[str, int] = {}
    titles: dict[str, str] = {}
    for definition in model.column_fields():
        text = args.get(definition.name, "")
        if definition.type != "link" or not text.isdigit() or len(text) > 18:
            continue
        target, record_id = str(definition.get("target")), int(text)
        try:
            runtime.get(target, record_id, current_user.actor())
        except (AccessDenied, NotFound):
            continue
        values[definition.name] = record_id
        titles[definition.name] = runtime.titles(target, [record_id], actor=current_user.actor()).get(
            record_id, f"#{record_id}"
        )
    return values, titles


def _link(field: str, record_id: int) -> dict[str, Any]:
    # As a dict of Any: url_for's typed keywords would not take a field name chosen at run time.
    return {field: record_id}
