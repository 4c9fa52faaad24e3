"""Dashboard endpoints: the dashboards a user may see, her home dashboard, and each widget's data on its own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import jsonify

from crm_platform.api import bp
from crm_platform.api.common import actor
from crm_platform.api.reports import may_see, plain, run_report, site_zone, text_of
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.i18n import current_locale
from crm_platform.services import services
from metamodel.dashboards import list_query, number_queries
from metamodel.errors import NotFound
from metamodel.records.runtime import RecordRuntime


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
        for doc in _visible(runtime)
    ]
    return jsonify({"items": items})


@bp.get("/dashboards/home")
def dashboards_home() -> Any:
    """Return the user's home dashboard: the first one marked home that names one of her roles (404 if none)."""
    runtime = services().runtime()
    for doc in _visible(runtime):
        if doc.get("home") and doc.get("roles"):
            return jsonify(_described(doc))
    raise NotFound("no home dashboard is assigned to you")


@bp.get("/dashboards/<name>")
def dashboards_get(name: str) -> Any:
    """Return one dashboard with its widgets' titles and widths (their data comes from the widget endpoint)."""
    return jsonify(_described(_dashboard(services().runtime(), name)))


@bp.get("/dashboards/<name>/widgets/<int:index>")
def dashboards_widget(name: str, index: int) -> Any:
    """Return one widget's data, under the user's row scope and field rules."""
    runtime = services().runtime()
    doc = _dashboard(runtime, name)
    widgets = doc.get("widgets") or []
    if not 0 <= index < len(widgets):
        raise NotFound(f"dashboard '{name}' has no widget {index}")
    widget = widgets[index]
    if widget["type"] == "report":
        report = runtime.model.bundle.docs("report").get(str(widget.get("report")))
        if report is None or not may_see(runtime, report):
            raise NotFound(f"no report '{widget.get('report')}'")
        return jsonify({"type": "report", **run_report(runtime, report)})
    if widget["type"] == "number":
        return jsonify(_number(runtime, widget))
    return jsonify(_list(runtime, widget))


def _visible(runtime: RecordRuntime) -> list[dict[str, Any]]:
    docs = runtime.model.bundle.docs("dashboard").values()
    return sorted((dict(d) for d in docs if may_see(runtime, d)), key=lambda d: str(d["name"]))


def _dashboard(runtime: RecordRuntime, name: str) -> dict[str, Any]:
    doc = runtime.model.bundle.docs("dashboard").get(name)
    if doc is None or not may_see(runtime, doc):
        raise NotFound(f"no dashboard '{name[:40]}'")
    return dict(doc)


def _described(doc: dict[str, Any]) -> dict[str, Any]:
    locale = current_locale()
    return {
        "name": doc["name"],
        "label": text_of(doc.get("label"), locale) or doc["name"],
        "home": bool(doc.get("home")),
        "widgets": [
            {
                "index": index,
                "type": widget["type"],
                "title": text_of(widget.get("title"), locale) or widget.get("report") or widget.get("entity"),
                "width": widget.get("width", 6 if widget["type"] != "number" else 3),
            }
            for index, widget in enumerate(doc.get("widgets") or [])
        ],
    }


def _number(runtime: RecordRuntime, widget: dict[str, Any]) -> dict[str, Any]:
    entity = str(widget["entity"])
    model = runtime.model.entity(entity)
    zone = site_zone()
    current, previous = number_queries(model, runtime.registry, widget, runtime.clock(), ZoneInfo(zone))
    key = current.measures[0].key
    who = actor()
    value = _single(runtime.aggregate(entity, current, who).rows, key)
    before = _single(runtime.aggregate(entity, previous, who).rows, key) if previous is not None else None
    change = None
    if before not in (None, 0) and value is not None:
        change = float((Decimal(str(value)) - Decimal(str(before))) / abs(Decimal(str(before))))
    return {
        "type": "number",
        "value": value,
        "previous": before,
        "change": change,
        "period": widget.get("period", "month") if previous is not None else None,
        "time_zone": zone,
    }


def _single(rows: list[dict[str, Any]], key: str) -> Any:
    return plain(rows[0])[key] if rows else None


def _list(runtime: RecordRuntime, widget: dict[str, Any]) -> dict[str, Any]:
    entity = str(widget["entity"])
    model = runtime.model.entity(entity)
    page = runtime.list(entity, list_query(model, runtime.registry, widget), actor())
    locale = current_locale()
    names = widget.get("columns") or [f.name for f in model.column_fields()][:3]
    columns = [{"key": n, "label": model.fields[n].label(locale)} for n in names if n in model.fields]
    return {"type": "list", "entity": entity, "columns": columns, "items": page.items}


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
