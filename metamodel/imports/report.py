"""The downloadable error report of an import: every failed or skipped row with its column and message."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import Connection, select

from metamodel.imports.tables import import_units

BOM = "\ufeff"  # so Excel opens the UTF-8 file with Chinese text intact


def error_rows(conn: Connection, job_id: int) -> list[dict[str, object]]:
    """Return every stored row error of the job, in file order."""
    found: list[dict[str, object]] = []
    for status, errors in conn.execute(
        select(import_units.c.status, import_units.c.errors)
        .where(import_units.c.job_id == job_id, import_units.c.errors.is_not(None))
        .order_by(import_units.c.seq)
    ):
        for error in errors or []:
            found.append({**error, "status": status})
    found.sort(key=lambda e: (int(str(e["row"])), str(e["column"])))
    return found


def error_csv(errors: list[dict[str, object]], headers: tuple[str, str, str, str]) -> Iterator[str]:
    """Yield the report as CSV lines under the given (translated) headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for error in errors:
        writer.writerow([error["row"], error["column"], error["status"], _safe(str(error["message"]))])
    yield BOM + buffer.getvalue()


def _safe(text: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
