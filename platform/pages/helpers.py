"""Template helpers of the pages: sort links, filter chips and read-only value display."""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for
from markupsafe import Markup, escape

from crm_platform.i18n import current_locale
from form_renderer.layout import FieldView


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
    """Render a field's stored value read-only, escaped."""
    value = view.value
    if value is None or value == "" or value == []:
        return Markup('<span class="empty">—</span>')
    if view.masked and not view.revealed:
        return Markup(f'<span class="masked">{escape(value)}</span>')
    if view.widget == "link":
        target = view.settings.get("target")
        href = url_for("pages.record_detail", entity=target, record_id=value)
        return Markup(f'<a href="{escape(href)}">{escape(view.title or "#" + str(value))}</a>')
    if view.widget == "attachment":
        href = url_for("pages.attachment_file", attachment_id=value)
        return Markup(f'<a href="{escape(href)}">#{escape(value)}</a>')
    options = dict(view.options)
    if view.widget in ("select", "radio"):
        return escape(options.get(str(value), value))
    if view.widget == "multi_select":
        return escape(", ".join(options.get(v, v) for v in value))
    if view.widget == "checkbox":
        return Markup("✓") if value else Markup("✗")
    if view.widget == "url":
        return Markup(f'<a href="{escape(value)}" rel="noopener noreferrer nofollow">{escape(value)}</a>')
    if view.widget == "currency" and view.settings.get("currency"):
        return escape(f"{value} {view.settings['currency']}")
    if view.widget == "json":
        import json

        return Markup(f"<pre>{escape(json.dumps(value, ensure_ascii=False, indent=2))}</pre>")
    return escape(value)


def init_app(app: Flask) -> None:
    """Make the helpers available in templates."""
    app.jinja_env.filters["reject_key"] = reject_key
    app.jinja_env.globals.update(
        sort_url=sort_url, sort_mark=sort_mark, display=display, current_locale=current_locale
    )
