"""Export records as CSV or XLSX (needs the "export" permission); imports live in crm_platform.api.imports.

The rows are the list's rows as the user reads them: option labels and link titles instead of
codes and ids, masked fields masked, hidden ones left out. They stream a page at a time (CSV line
by line; XLSX through openpyxl's write-only workbook into a temporary file) and every export is
audited before its first row leaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, request, send_file, stream_with_context

from crm_platform.api import bp
from crm_platform.api.common import actor
from crm_platform.api.records import entity_model
from crm_platform.api.schemas import ENDPOINTS, LIST_QUERY, query_param
from crm_platform.auditing import current_origin
from crm_platform.display import display_context
from crm_platform.i18n import current_locale
from crm_platform.listing.export import (
    CSV,
    FORMATS,
    XLSX,
    ExportColumn,
    audit_export,
    authorize,
    column_text,
    csv_lines,
    record_pages,
    xlsx_file,
)
from crm_platform.services import services
from form_renderer.presentation import DisplayContext, PresentationRegistry
from metamodel.access.fieldsecurity import field_access
from metamodel.errors import NotFound
from metamodel.records.query import parse_list_args


@bp.get("/records/<entity>/export")
def records_export(entity: str) -> Any:
    """Export the records matching the list filters as CSV or XLSX (``?format=xlsx``), as the user sees them."""
    runtime = services().runtime()
    model = entity_model(runtime, entity)
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        raise NotFound(f"no export format '{fmt[:10]}'; use csv or xlsx")
    args = request.args.to_dict(flat=False)
    query = parse_list_args(model, runtime.registry, args)
    who = authorize(runtime, entity, actor())
    with runtime.engine.connect() as conn:
        restricted = field_access(conn, who, model)
    columns = [
        ExportColumn(f.name, f, getattr(restricted.get(f.name), "level", "") == "masked")
        for f in model.column_fields()
        if getattr(restricted.get(f.name), "level", "") != "hidden"
    ]
    pages = record_pages(runtime, entity, query, who)
    first = next(pages)  # a refused filter or sort is an error response, not a broken file
    audit_export(runtime, entity, who, fmt, args, current_origin())

    def all_pages() -> Iterator[list[dict[str, Any]]]:
        yield first
        yield from pages

    header = ["id", "record_no", *(c.label for c in columns)]
    rows = _rows(all_pages(), columns, services().presentations, display_context())
    if fmt == "csv":
        response = Response(stream_with_context(csv_lines(header, rows)), mimetype="text/csv")
        response.headers["Content-Type"] = CSV
        response.headers["Content-Disposition"] = f'attachment; filename="{entity}.csv"'
        return response
    title = model.entity.label(current_locale())
    return send_file(
        xlsx_file(header, rows, title), mimetype=XLSX, as_attachment=True, download_name=f"{entity}.xlsx"
    )


def _rows(
    pages: Iterable[list[dict[str, Any]]],
    columns: list[ExportColumn],
    presentations: PresentationRegistry,
    ctx: DisplayContext,
) -> Iterator[list[Any]]:
    # The id stays a number (integrators join on it); every field is the text the list shows.
    for items in pages:
        for item in items:
            texts = [column_text(item, column, presentations, ctx) for column in columns]
            yield [item["id"], item.get("record_no") or "", *texts]


ENDPOINTS.update(
    {
        "records_export": {
            "summary": (
                "Export records as CSV, or XLSX with ?format=xlsx, as the list shows them: option labels, "
                "link titles, masked fields masked, hidden ones left out (needs the export permission; audited)"
            ),
            "errors": ("400", "403", "404"),
            "filters": True,
            "query": [
                *(p for p in LIST_QUERY if p["name"] in ("q", "sort")),
                query_param("format", {"type": "string", "enum": list(FORMATS)}, "csv (default) or xlsx"),
            ],
            "responses": {
                "200": ("CSV, UTF-8 with a BOM (or XLSX)", {"type": "string"}, "text/csv"),
            },
        },
    }
)
