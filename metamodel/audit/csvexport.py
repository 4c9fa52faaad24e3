"""CSV export of audit entries, for spreadsheets: UTF-8 with a BOM and no formula injection."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "origin",
    "action",
    "entity",
    "record_id",
    "summary",
    "changes",
)
BOM = "\ufeff"  # Excel reads UTF-8 (Chinese text) correctly only with it
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """Return a cell's text; one a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def line_writer() -> Callable[[Iterable[Any]], str]:
    """Return a function rendering one row as a CSV line (CRLF-terminated), reusing one buffer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    return line


def csv_lines(entries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Yield the BOM and header, then one CSV line per entry (for a streaming response)."""
    line = line_writer()
    yield BOM + line(COLUMNS)
    for entry in entries:
        yield line(safe_cell(entry.get(column)) for column in COLUMNS)
