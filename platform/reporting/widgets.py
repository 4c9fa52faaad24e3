"""Dashboards for the signed-in user: which she may see, her home one, and each widget's data on its own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm_platform.i18n import current_locale
from crm_platform.listing.savedviews import views_for
from crm_platform.reporting.acting import actor
from crm_platform.reporting.boards import MY_BOARD, my_board_doc, personal_boards
from crm_platform.reporting.reports import find_report, may_see, plain, run_report, site_zone, text_of
from crm_platform.services import services
from crm_platform.timezones import local_list_args
from metamodel.dashboards import list_query, number_queries
from metamodel.errors import NotFound
from metamodel.records.query import ListQuery, parse_list_args
from metamodel.records.runtime import RecordRuntime

SHORT_LIST = 5


def visible_dashboards(runtime: RecordRuntime) -> list[dict[str, Any]]:
    """Return the dashboards the user may see, by name, then her own ones."""
    docs = runtime.model.bundle.docs("dashboard").values()
    shared = sorted((dict(d) for d in docs if may_see(runtime, d)), key=lambda d: str(d["name"]))
    mine = personal_boards(runtime.engine, int(actor().user_id or 0))
    return shared + [mine[n] for n in sorted(mine) if n not in {d["name"] for d in shared}]


def home_dashboard(runtime: RecordRuntime) -> dict[str, Any] | None:
    """Return the user's home dashboard: the first marked home that names one of her roles."""
    for doc in visible_dashboards(runtime):
        if doc.get("home") and doc.get("roles"):
            return doc
    return None


def find_dashboard(runtime: RecordRuntime, name: str) -> dict[str, Any]:
    """Return the dashboard called ``name`` when the user may see it; NotFound otherwise."""
    doc = runtime.model.bundle.docs("dashboard").get(name)
    if doc is not None and may_see(runtime, doc):
        return dict(doc)
    mine = personal_boards(runtime.engine, int(actor().user_id or 0))
    if name in mine:
        return mine[name]
    if name == MY_BOARD and doc is None:
        return my_board_doc()  # her own dashboard exists as soon as she opens it
    raise NotFound(f"no dashboard '{name[:40]}'")


def described(doc: dict[str, Any]) -> dict[str, Any]:
    """Return a dashboard with its widgets' titles and widths (their data comes one by one)."""
    locale = current_locale()
    return {
        "name": doc["name"],
        "label": text_of(doc.get("label"), locale) or doc["name"],
        "home": bool(doc.get("home")),
        "personal": bool(doc.get("personal")),
        "widgets": [
            {
                "index": index,
                "type": widget["type"],
                "title": _title(widget, locale),
                "width": widget.get("width", 6 if widget["type"] != "number" else 3),
            }
            for index, widget in enumerate(doc.get("widgets") or [])
        ],
    }


def _title(widget: dict[str, Any], locale: str) -> str:
    """A widget's own title, else its source's label in the reader's language: the report's, or the entity's
    and the saved view's name; the code only as a last resort."""
    own = text_of(widget.get("title"), locale)
    if widget["type"] == "report":
        try:
            report = find_report(services().runtime(), str(widget.get("report"))[:40])
        except NotFound:
            return own or str(widget.get("report"))
        label = report.get("label")
        if own and not _copied(widget.get("title"), label):
            return own
        return text_of(label, locale) or str(report["name"])
    if own:
        return own
    model = services().runtime().model.entities.get(str(widget.get("entity")))
    entity = (
        text_of(model.entity.doc.get("label_plural"), locale) or model.entity.label(locale)
        if model is not None
        else str(widget.get("entity"))
    )
    return f"{entity} · {widget['view']}" if widget.get("view") else entity


def _copied(title: Any, label: Any) -> bool:
    """Whether a widget's title is a report label copied in one language when it was added (older
    dashboards did that): the same text for every language, and one of the report's labels."""
    if not isinstance(title, dict) or len(set(title.values())) != 1:
        return False
    labels = set(label.values()) if isinstance(label, dict) else {label}
    return next(iter(title.values())) in labels


def widget_data(runtime: RecordRuntime, doc: dict[str, Any], index: int) -> dict[str, Any]:
    """Return one widget's data, under the user's row scope and field rules."""
    widgets = doc.get("widgets") or []
    if not 0 <= index < len(widgets):
        raise NotFound(f"dashboard '{doc['name']}' has no widget {index}")
    widget = widgets[index]
    if widget["type"] == "report":
        return {"type": "report", **run_report(runtime, find_report(runtime, str(widget.get("report"))))}
    if widget["type"] == "number":
        return number(runtime, widget)
    return short_list(runtime, widget)


def number(runtime: RecordRuntime, widget: dict[str, Any]) -> dict[str, Any]:
    """Return a number widget's value this period, the previous period's and the change between them."""
    entity = str(widget["entity"])
    model = runtime.model.entity(entity)
    zone = site_zone(runtime)
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
        "entity": entity,
        "value": value,
        "previous": before,
        "change": change,
        "period": widget.get("period", "month") if previous is not None else None,
        "time_zone": zone,
    }


def _single(rows: list[dict[str, Any]], key: str) -> Any:
    return plain(rows[0])[key] if rows else None


def short_list(runtime: RecordRuntime, widget: dict[str, Any]) -> dict[str, Any]:
    """Return a list widget's few records and its columns' labels."""
    entity = str(widget["entity"])
    model = runtime.model.entity(entity)
    query, names, view_id = _list_source(runtime, widget)
    page = runtime.list(entity, query, actor())
    locale = current_locale()
    names = names or [f.name for f in model.column_fields()][:3]
    columns = [{"key": n, "label": model.fields[n].label(locale)} for n in names if n in model.fields]
    return {"type": "list", "entity": entity, "columns": columns, "items": page.items, "view_id": view_id}


def _list_source(runtime: RecordRuntime, widget: dict[str, Any]) -> tuple[ListQuery, list[str], int | None]:
    """Return a list widget's query, columns and saved view id: its own filters, or a saved view's."""
    entity = str(widget["entity"])
    model = runtime.model.entity(entity)
    name = widget.get("view")
    if not name:
        return list_query(model, runtime.registry, widget), list(widget.get("columns") or []), None
    views = views_for(runtime.engine, int(actor().user_id or 0), entity)
    view = next((v for v in views if v.name == name), None)
    if view is None:
        raise NotFound(f"no saved view '{str(name)[:80]}' of {entity}")
    query = parse_list_args(
        model, runtime.registry, local_list_args(model, view.query)
    )  # as the list reads it
    query.limit = int(widget.get("limit") or SHORT_LIST)
    query.cursor = None
    return query, list(widget.get("columns") or view.columns[:4]), view.id
