"""Exporting a list view: its rows as people read them (labels, masks), streamed page by page.

The rows come through the record runtime exactly as the list shows them (row scopes, field rules,
masks), then through each field type's presentation ``text`` (option labels, not codes). A page at
a time is held in memory; CSV streams line by line and XLSX is written by openpyxl's write-only
workbook to a temporary file, so neither keeps all rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import Connection

from form_renderer.presentation import DisplayContext, PresentationRegistry, Shown
from metamodel.access import require
from metamodel.access.enforcement import permitted_ids
from metamodel.audit.csvexport import BOM, line_writer, safe_cell
from metamodel.audit.log import write_for_actor
from metamodel.definitions import FieldDef
from metamodel.records.hooks import Actor
from metamodel.records.query import MAX_LIMIT, ListQuery
from metamodel.records.runtime import RecordRuntime

MAX_EXPORT_ROWS = 1_000_000
FORMATS = ("csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class ExportColumn:
    """One exported column: its heading and the field it shows (None: the record number)."""

    label: str
    field: FieldDef | None
    masked: bool = False


def authorize(runtime: RecordRuntime, entity: str, actor: Actor) -> Actor:
    """Return the resolved actor when her roles allow ``export`` on the entity (else AccessDenied)."""
    with runtime.engine.connect() as conn:
        return require(conn, runtime.resolve(actor, conn), entity, "export")


def audit_export(
    runtime: RecordRuntime,
    entity: str,
    who: Actor,
    fmt: str,
    args: Mapping[str, list[str]],
    origin: str | None,
) -> None:
    """Log who exported which list (its filters and format) before the first row leaves."""
    with runtime.engine.begin() as conn:
        write_for_actor(
            conn,
            "record.export",
            who,
            origin,
            entity=entity,
            summary=f"exported {entity} as {fmt}",
            changes={"format": fmt, "query": {k: list(v) for k, v in args.items()}},
        )


def record_pages(
    runtime: RecordRuntime, entity: str, query: ListQuery, who: Actor, ids: set[int] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Yield the list's records a page at a time (keyset), only those open to ``export`` (and in ``ids``)."""
    cursor: str | None = None
    sent = 0
    while True:
        page_query = ListQuery(query.filters, query.search, query.sort, MAX_LIMIT, 0, cursor)
        with runtime.transaction() as conn:
            page = runtime.list(entity, page_query, who, conn=conn)
            items = _exportable(conn, runtime, entity, who, page.items, ids)
        sent += len(items)
        yield items
        cursor = page.next_cursor
        if cursor is None or sent >= MAX_EXPORT_ROWS:
            return


def _exportable(
    conn: Connection,
    runtime: RecordRuntime,
    entity: str,
    who: Actor,
    items: list[dict[str, Any]],
    ids: set[int] | None,
) -> list[dict[str, Any]]:
    if ids is not None:
        items = [item for item in items if item["id"] in ids]
    allowed = permitted_ids(conn, runtime.model.entity(entity), who, "export", [item["id"] for item in items])
    return [item for item in items if item["id"] in allowed]


def text_rows(
    pages: Iterable[list[dict[str, Any]]],
    columns: list[ExportColumn],
    presentations: PresentationRegistry,
    ctx: DisplayContext,
) -> Iterator[list[str]]:
    """Yield each record as the texts of its columns: option labels, link titles, masks as masks."""
    for items in pages:
        for item in items:
            yield [column_text(item, column, presentations, ctx) for column in columns]


def column_text(
    item: dict[str, Any], column: ExportColumn, presentations: PresentationRegistry, ctx: DisplayContext
) -> str:
    """Return one cell as people read it: the option label, the link title, the mask, the record number."""
    if column.field is None:
        return str(item.get("record_no") or item["id"])
    value = item.get(column.field.name)
    if value is None or value == "" or value == []:
        return ""
    if column.masked:
        return str(value)  # the runtime already replaced it with its mask
    title = str((item.get("_titles") or {}).get(column.field.name, ""))
    shown = Shown(column.field, value, title=title)
    return presentations.of(column.field.type).text(shown, ctx)


def csv_lines(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """Yield the BOM and header line, then a CSV line per row (spreadsheet formulas defused)."""
    line = line_writer()
    yield BOM + line([safe_cell(h) for h in header])
    for row in rows:
        yield line([safe_cell(cell) for cell in row])


def xlsx_file(header: list[str], rows: Iterable[list[Any]], title: str) -> IO[bytes]:
    """Write the rows to an XLSX workbook in a temporary file (write-only mode: constant memory)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name(title))
    cells = []
    for heading in header:
        cell = WriteOnlyCell(sheet, value=heading)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        # Text as text: a value starting with "=" must never become a formula in the reader's sheet.
        sheet.append([safe_cell(cell) if isinstance(cell, str) else cell for cell in row])
    out = tempfile.TemporaryFile()
    book.save(out)
    out.seek(0)
    return out


def sheet_name(title: str) -> str:
    """Return a title Excel accepts as a sheet name (31 characters, none of []:*?/\\)."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()
    return (cleaned or "Sheet")[:31]
