"""Template helpers of the pages: sort links, filter chips and read-only value display."""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for
from markupsafe import Markup, escape

from crm_platform.display import display_context as display_context
from crm_platform.i18n import current_locale
from crm_platform.services import services
from crm_platform.timezones import user_zone
from form_renderer.layout import FieldView
from form_renderer.presentation import Shown
from form_renderer.presentation.moments import input_value, zone_name, zone_offset
from metamodel.definitions import FieldDef
from metamodel.model import EntityModel


def reject_key(values: dict[str, Any], key: str) -> dict[str, Any]:
    """Return ``values`` without ``key`` (and without the paging cursor, which a changed query invalidates)."""
    return {k: v for k, v in values.items() if k not in (key, "cursor")}


def sort_url(entity: str, args: Any, name: str) -> str:
    """Return the list URL sorted by ``name``, flipping the direction when already sorted by it."""
    current = args.get("sort", "")
    target = f"-{name}" if current == name else name
    params = reject_key(args.to_dict(), "sort")
    return url_for("pages.record_list", entity=entity, **params, sort=target)


def sort_mark(args: Any, name: str) -> str:
    """Return an arrow showing the current sort direction of column ``name``."""
    current = args.get("sort", "")
    return " ▲" if current == name else " ▼" if current == f"-{name}" else ""


def display(view: FieldView) -> Markup:
    """Render a field's value read-only through its type's registered presentation (escaped)."""
    if view.definition is None:
        return escape(view.value)
    shown = Shown(
        view.definition,
        view.value,
        title=view.title,
        masked=view.masked and not view.revealed,
    )
    return services().presentations.present(shown, display_context())


def moment(value: Any) -> Markup:
    """Render a system timestamp (created, updated, history) like a datetime field: no seconds or microseconds."""
    definition = FieldDef({"name": "at", "type": "datetime"})
    return services().presentations.present(Shown(definition, value), display_context())


def moment_text(value: Any) -> str:
    """Return a system timestamp as plain text in the reader's zone (``2026-12-04 14:30``), "" when empty."""
    if value is None or value == "":
        return ""
    definition = FieldDef({"name": "at", "type": "datetime"})
    return services().presentations.of("datetime").text(Shown(definition, value), display_context())


def datetime_input(value: Any) -> str:
    """Return a stored datetime as a ``datetime-local`` input shows it: the reader's wall time."""
    return input_value(value, user_zone())


def field_text(model: EntityModel, name: str, value: Any) -> str:
    """Return a field's value as plain human text (a filter chip's "Gold" for ``tier=gold``)."""
    definition = model.fields.get(name)
    if definition is None:
        return str(value)
    if definition.type in ("select", "multi_select") and isinstance(value, str) and "," in value:
        value = value.split(",")  # an ``in`` filter lists several options
    shown = Shown(definition, value)
    return services().presentations.of(definition.type).text(shown, display_context())


def init_app(app: Flask) -> None:
    """Make the helpers available in templates."""
    app.jinja_env.filters["reject_key"] = reject_key
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.filters["when"] = moment_text
    app.jinja_env.filters["datetime_input"] = datetime_input
    app.jinja_env.globals.update(
        sort_url=sort_url,
        sort_mark=sort_mark,
        display=display,
        field_text=field_text,
        current_locale=current_locale,
        reader_zone=lambda: zone_name(user_zone()),
        reader_offset=lambda: zone_offset(user_zone()),
    )
