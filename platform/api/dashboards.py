"""Dashboard endpoints: the dashboards a user may see, her home dashboard, and each widget's data on its own."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from crm_platform.api import bp
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.i18n import current_locale
from crm_platform.reporting.reports import text_of
from crm_platform.reporting.widgets import (
    described,
    find_dashboard,
    home_dashboard,
    visible_dashboards,
    widget_data,
)
from crm_platform.services import services
from metamodel.errors import NotFound


@bp.get("/dashboards")
def dashboards_list() -> Any:
    """List the dashboards the user may see."""
    runtime = services().runtime()
    locale = current_locale()
    items = [
        {
            "name": doc["name"],
            "label": text_of(doc.get("label"), locale) or doc["name"],
            "home": bool(doc.get("home")),
        }
        for doc in visible_dashboards(runtime)
    ]
    return jsonify({"items": items})


@bp.get("/dashboards/home")
def dashboards_home() -> Any:
    """Return the user's home dashboard: the first one marked home that names one of her roles (404 if none)."""
    doc = home_dashboard(services().runtime())
    if doc is None:
        raise NotFound("no home dashboard is assigned to you")
    return jsonify(described(doc))


@bp.get("/dashboards/<name>")
def dashboards_get(name: str) -> Any:
    """Return one dashboard with its widgets' titles and widths (their data comes from the widget endpoint)."""
    return jsonify(described(find_dashboard(services().runtime(), name)))


@bp.get("/dashboards/<name>/widgets/<int:index>")
def dashboards_widget(name: str, index: int) -> Any:
    """Return one widget's data, under the user's row scope and field rules."""
    runtime = services().runtime()
    return jsonify(widget_data(runtime, find_dashboard(runtime, name), index))


_OBJECT = {"type": "object"}
ENDPOINTS.update(
    {
        "dashboards_list": {
            "summary": "List the dashboards the user may see",
            "responses": {"200": ("OK", _OBJECT, "application/json")},
        },
        "dashboards_home": {
            "summary": "The user's home dashboard (404 when none is assigned to her roles)",
            "errors": ("404",),
            "responses": {"200": ("OK", _OBJECT, "application/json")},
        },
        "dashboards_get": {
            "summary": "Get a dashboard and its widgets",
            "errors": ("404",),
            "responses": {"200": ("OK", _OBJECT, "application/json")},
        },
        "dashboards_widget": {
            "summary": "One widget's data (a number with the previous period, a report result or a short list)",
            "errors": ("400", "403", "404"),
            "responses": {"200": ("OK", _OBJECT, "application/json")},
        },
    }
)
