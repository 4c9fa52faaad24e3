"""Report pages: the reports a user may see, one report's chart and table with drill-down, and its export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask_login import login_required

from crm_platform.display import display_context
from crm_platform.i18n import current_locale, t
from crm_platform.pages.dashboardedit import report_label, targets
from crm_platform.reporting.charts import chart_spec, drill_url
from crm_platform.reporting.export import export_response
from crm_platform.reporting.reports import find_report, run_report, visible_reports
from crm_platform.services import services
from form_renderer.presentation import Shown
from metamodel.access import AccessDenied
from metamodel.errors import BadQuery, CrmError

bp = Blueprint("report_pages", __name__)
# The Tabler icon of each chart type, on the report's tile.
CHART_ICONS = {
    "bar": "chart-bar",
    "line": "chart-line",
    "pie": "chart-pie",
    "funnel": "chart-funnel",
    "number": "number",
    "table": "table",
}


def failure_text(exc: CrmError) -> str:
    """Say in the reader's language why a report or widget could not be shown, with the engine's detail."""
    if isinstance(exc, AccessDenied):
        return t("report.err.denied", detail=exc.message)
    if isinstance(exc, BadQuery):
        detail = "; ".join(p.message for p in exc.problems) or exc.message
        return t("report.err.invalid", detail=detail)
    return t("report.err.failed", detail=exc.message)


def result_context(doc: dict[str, Any]) -> dict[str, Any]:
    """Run a report for the page: its result, chart data and each row's drill-down link (or an error)."""
    try:
        result = run_report(services().runtime(), doc)
    except CrmError as exc:
        return {"result": None, "error": failure_text(exc)}
    for row in result["rows"]:
        row["drill_url"] = drill_url(str(result["entity"]), row.get("drill"))
    _moment_texts(result)
    return {"result": result, "chart": chart_spec(result), "error": ""}


def _moment_texts(result: dict[str, Any]) -> None:
    """Give the earliest or latest date of a column as its field shows it (her zone and language), not as
    ISO text: the table reads ``row[key + "__text"]`` where there is one."""
    model = services().metadata.model().entity(str(result["entity"]))
    presentations, ctx = services().presentations, display_context()
    for column in result["columns"]:
        definition = model.fields.get(column.get("field") or "")
        if column.get("function") not in ("min", "max") or definition is None:
            continue
        if definition.type not in ("date", "datetime"):
            continue
        presentation = presentations.of(definition.type)
        for row in result["rows"]:
            value = row.get(column["key"])
            if value is not None:
                row[f"{column['key']}__text"] = presentation.text(Shown(definition, value), ctx)


@bp.app_template_filter("figure")
def figure(value: Any) -> str:
    """Format a measure for reading: thousands separators, at most two decimals, a dash for none."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


@bp.get("/reports")
@login_required
def reports() -> Any:
    """List the reports the user may see: shared ones and her personal ones."""
    runtime = services().runtime()
    site = runtime.model
    rows = []
    for doc in visible_reports(runtime):
        if str(doc["entity"]) not in site.entities:
            continue
        chart = (doc.get("chart") or {}).get("type", "table")
        rows.append(
            {
                "url": url_for("report_pages.report", name=doc["name"]),
                "icon": CHART_ICONS.get(chart, "chart-bar"),
                "label": report_label(doc),
                "entity": site.entities[str(doc["entity"])].entity.label(current_locale()),
                "chart": chart,
                "personal": bool(doc.get("personal")),
            }
        )
    return render_template("reports/list.html", items=rows)


@bp.get("/reports/<name>")
@login_required
def report(name: str) -> Any:
    """Show one report: its chart, its table (cells drill down to the records) and export links."""
    doc = find_report(services().runtime(), name[:40])
    context = result_context(doc)
    boards = targets(shared_source=not doc.get("personal"))
    page = render_template("reports/view.html", doc=doc, label=report_label(doc), boards=boards, **context)
    return page, 400 if context["error"] else 200


@bp.get("/reports/<name>/export.<fmt>")
@login_required
def report_export(name: str, fmt: str) -> Any:
    """Download a report's result as CSV or XLSX (needs the export permission on its entity)."""
    return export_response(find_report(services().runtime(), name[:40]), fmt)
