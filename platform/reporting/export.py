"""A report's result as a CSV or XLSX file (labels, not codes), written row by row."""

from __future__ import annotations

import csv
import io
from typing import IO, Any

from flask import Response, send_file

from crm_platform.i18n import current_locale
from crm_platform.listing.export import CSV, XLSX, xlsx_file
from crm_platform.reporting.acting import actor
from crm_platform.reporting.reports import cell_text, run_report, text_of
from crm_platform.services import services
from metamodel.access import require
from metamodel.audit.csvexport import BOM, safe_cell
from metamodel.errors import NotFound


def result_csv(result: dict[str, Any]) -> str:
    """Return the result as CSV text with a BOM (so spreadsheet programs read the Chinese right)."""
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow([safe_cell(c["label"]) for c in result["columns"]])
    for row in result["rows"]:
        writer.writerow([safe_cell(cell_text(row, c)) for c in result["columns"]])
    return BOM + lines.getvalue()


def result_xlsx(result: dict[str, Any], title: str) -> IO[bytes]:
    """Return the result as an XLSX workbook in a temporary file (write-only mode: constant memory)."""
    columns = result["columns"]
    rows = ([_value(row, column) for column in columns] for row in result["rows"])
    return xlsx_file([str(column["label"]) for column in columns], rows, title)


def _value(row: dict[str, Any], column: dict[str, Any]) -> Any:
    value = row.get(column["key"])
    if column["kind"] == "measure" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    # Text as text: a label starting with "=" must never become a formula in the reader's spreadsheet.
    return safe_cell(cell_text(row, column))


def export_response(doc: dict[str, Any], fmt: str) -> Any:
    """Answer a report's result as a CSV or XLSX download, for users with the export permission."""
    if fmt not in ("csv", "xlsx"):
        raise NotFound(f"no export format '{fmt[:10]}'; use csv or xlsx")
    runtime = services().runtime()
    with runtime.engine.connect() as conn:
        require(conn, runtime.resolve(actor(), conn), str(doc["entity"]), "export")
    result = run_report(runtime, doc)
    name = str(doc["name"])
    if fmt == "csv":
        response = Response(result_csv(result), mimetype="text/csv")
        response.headers["Content-Type"] = CSV
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    title = text_of(doc.get("label"), current_locale()) or name
    return send_file(
        result_xlsx(result, title), mimetype=XLSX, as_attachment=True, download_name=f"{name}.xlsx"
    )
