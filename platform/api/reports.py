"""Report endpoints: list the reports a user may see, run one (or an unsaved one) and export its result."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, json_body
from crm_platform.api.records import entity_model
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.i18n import current_locale
from crm_platform.reporting.export import export_response
from crm_platform.reporting.reports import find_report, may_see, run_report, text_of
from crm_platform.services import services
from metamodel.errors import Problem


@bp.get("/reports")
def reports_list() -> Any:
    """List the reports the user may see (her roles, entities she may read), with their labels."""
    runtime = services().runtime()
    visible = [doc for doc in runtime.model.bundle.docs("report").values() if may_see(runtime, doc)]
    locale = current_locale()
    return jsonify(
        {
            "items": [
                {
                    "name": doc["name"],
                    "entity": doc["entity"],
                    "label": text_of(doc.get("label"), locale) or doc["name"],
                    "chart": (doc.get("chart") or {}).get("type", "table"),
                }
                for doc in sorted(visible, key=lambda d: str(d["name"]))
            ]
        }
    )


@bp.get("/reports/<name>")
def reports_get(name: str) -> Any:
    """Return one report document."""
    runtime = services().runtime()
    return jsonify(find_report(runtime, name))


@bp.route("/reports/<name>/run", methods=["GET", "POST"])
def reports_run(name: str) -> Any:
    """Run a saved report for the user: her row scope applies, fields she may not see are refused."""
    runtime = services().runtime()
    doc = find_report(runtime, name)
    return jsonify(run_report(runtime, doc))


@bp.post("/reports/run")
def reports_run_unsaved() -> Any:
    """Run a report that is not saved (the report builder's live preview): ``{"entity", "query"}``."""
    body = json_body()
    entity = body.get("entity")
    if not isinstance(entity, str):
        raise BadRequest(
            "'entity' names the entity to report on", [Problem("entity", "is required", "required")]
        )
    runtime = services().runtime()
    entity_model(runtime, entity)
    doc = {"name": "preview", "entity": entity, "query": body.get("query") or {}}
    if not isinstance(doc["query"], dict):
        raise BadRequest("'query' must be an object", [Problem("query", "must be an object", "type")])
    return jsonify(run_report(runtime, doc))


@bp.get("/reports/<name>/export")
def reports_export(name: str) -> Any:
    """Export a saved report's result as CSV (default) or XLSX (``?format=xlsx``), with labels, not codes."""
    runtime = services().runtime()
    fmt = request.args.get("format", "csv")
    return export_response(find_report(runtime, name), fmt)


_RESULT = {
    "type": "object",
    "required": ["report", "entity", "columns", "rows", "truncated"],
    "properties": {
        "report": {"type": "string"},
        "entity": {"type": "string"},
        "chart": {"type": "object"},
        "columns": {"type": "array", "items": {"type": "object"}},
        "rows": {"type": "array", "items": {"type": "object"}},
        "truncated": {"type": "boolean"},
        "time_zone": {"type": "string"},
    },
}

ENDPOINTS.update(
    {
        "reports_list": {
            "summary": "List the reports the user may see",
            "responses": {
                "200": (
                    "OK",
                    {"type": "object", "properties": {"items": {"type": "array"}}},
                    "application/json",
                )
            },
        },
        "reports_get": {
            "summary": "Get a report document",
            "errors": ("404",),
            "responses": {"200": ("OK", {"type": "object"}, "application/json")},
        },
        "reports_run": {
            "summary": "Run a report: one GROUP BY under the user's row scope (fields hidden or masked for her are refused)",
            "errors": ("400", "403", "404"),
            "responses": {"200": ("OK", _RESULT, "application/json")},
        },
        "reports_run_unsaved": {
            "summary": "Run an unsaved report ({entity, query}), e.g. a report builder's preview",
            "errors": ("400", "403", "404"),
            "request": {
                "type": "object",
                "required": ["entity"],
                "properties": {"entity": {"type": "string"}, "query": {"type": "object"}},
            },
            "responses": {"200": ("OK", _RESULT, "application/json")},
        },
        "reports_export": {
            "summary": "Export a report's result as CSV, or XLSX with ?format=xlsx, with labels (needs the export permission)",
            "errors": ("400", "403", "404"),
            "responses": {"200": ("CSV, UTF-8 with a BOM", {"type": "string"}, "text/csv")},
        },
    }
)
