"""The view switcher of an entity's pages (list · board · calendar), offered where the metadata allows."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, url_for

from crm_platform.i18n import t
from crm_platform.services import services
from metamodel.model import EntityModel
from metamodel.viewsettings import datable, groupable

# Query-string keys that belong to one view only; the filters travel between the views.
_OWN_KEYS = frozenset(
    {
        "lang",
        "view",
        "cols",
        "group",
        "sum",
        "date",
        "mode",
        "start",
        "cursor",
        "page",
        "sort",
        "q",
        "count",
        "value",
    }
)


def entity_views(model: EntityModel, current: str, args: Any = None) -> list[dict[str, Any]]:
    """Return the switcher's tabs: key, label, icon, url and whether it is the page shown."""
    registry = services().field_types
    fields = model.column_fields()
    keep = {
        k: v for k, v in (args.to_dict(flat=False) if args is not None else {}).items() if k not in _OWN_KEYS
    }
    tabs = [("list", "ti-list", "pages.record_list")]
    if any(groupable(f, registry) for f in fields):
        tabs.append(("board", "ti-layout-kanban", "pages.record_board"))
    if any(datable(f, registry) for f in fields):
        tabs.append(("calendar", "ti-calendar", "pages.record_calendar"))
    tabs = [tab for tab in tabs if tab[2] in current_app.view_functions]
    if len(tabs) == 1:
        return []
    return [
        {
            "key": key,
            "label": t(f"views.{key}"),
            "icon": icon,
            "url": url_for(endpoint, entity=model.name, **keep),
            "current": key == current,
        }
        for key, icon, endpoint in tabs
    ]


def init_app(app: Flask) -> None:
    """Make the switcher available to the entity pages' templates."""
    app.jinja_env.globals["entity_views"] = entity_views
