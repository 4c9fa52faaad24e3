"""Export records as CSV (needs the "export" permission); imports live in crm_platform.api.imports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, request, stream_with_context

from crm_platform.api import bp
from crm_platform.api.common import actor
from crm_platform.api.records import entity_model
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.services import services
from metamodel.access import require
from metamodel.access.enforcement import permitted_ids
from metamodel.access.fieldsecurity import field_access
from metamodel.audit.csvexport import BOM, line_writer, safe_cell
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor
from metamodel.records.query import MAX_LIMIT, ListQuery, parse_list_args
from metamodel.records.runtime import RecordRuntime

MAX_EXPORT_ROWS = 100_000


@bp.get("/records/<entity>/export")
def records_export(entity: str) -> Any:
    """Export the records matching the list filters as CSV: fields hidden for the user left out, masked ones masked."""
    runtime = services().runtime()
    model = entity_model(runtime, entity)
    query = parse_list_args(model, runtime.registry, request.args.to_dict(flat=False))
    with runtime.engine.connect() as conn:
        who = require(conn, runtime.resolve(actor(), conn), entity, "export")
        restricted = field_access(conn, who, model)
    columns = ["id", "record_no"] + [
        f.name
        for f in model.column_fields()
        if f.name not in restricted or restricted[f.name].level != "hidden"
    ]
    # A problem in the first page (a refused filter or sort) is an error response, not a broken file.
    first = _page(runtime, model, query, who, None)
    response = Response(
        stream_with_context(_csv(runtime, model, query, who, columns, first)), mimetype="text/csv"
    )
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{entity}.csv"'
    return response


def _page(
    runtime: RecordRuntime, model: EntityModel, query: ListQuery, who: Actor, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    page_query = ListQuery(query.filters, query.search, query.sort, MAX_LIMIT, 0, cursor)
    with runtime.transaction() as conn:
        page = runtime.list(model.name, page_query, who, conn=conn)
        allowed = permitted_ids(conn, model, who, "export", [item["id"] for item in page.items])
    return [item for item in page.items if item["id"] in allowed], page.next_cursor


def _csv(
    runtime: RecordRuntime,
    model: EntityModel,
    query: ListQuery,
    who: Actor,
    columns: list[str],
    first: tuple[list[dict[str, Any]], str | None],
) -> Iterator[str]:
    line = line_writer()
    yield BOM + line(columns)
    items, cursor = first
    written = 0
    while True:
        for item in items:
            titles = item.get("_titles") or {}
            yield line([safe_cell(titles.get(name, item.get(name))) for name in columns])
            written += 1
        if cursor is None or written >= MAX_EXPORT_ROWS:
            return
        items, cursor = _page(runtime, model, query, who, cursor)


ENDPOINTS.update(
    {
        "records_export": {
            "summary": "Export records as CSV (needs the export permission; hidden fields left out, masked ones masked)",
            "errors": ("400", "403", "404"),
            "filters": True,
            "responses": {"200": ("CSV, UTF-8 with a BOM", {"type": "string"}, "text/csv")},
        },
    }
)
