"""Reading an uploaded CSV (any common encoding, GBK included) or XLSX file into a header and rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook

from metamodel.errors import Problem, RecordInvalid

# Tried in order when the caller does not choose: UTF-8 (with or without BOM), then the Chinese
# national standard (a superset of GBK and GB2312), then Big5, then Windows Western as a last resort.
ENCODINGS = ("utf-8-sig", "gb18030", "big5", "cp1252")
CHOSEN = {
    "utf-8",
    "utf-8-sig",
    "gbk",
    "gb2312",
    "gb18030",
    "big5",
    "cp1252",
    "latin-1",
    "utf-16",
    "shift_jis",
}
MAX_ROWS = 200_000
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Table:
    """A file read into memory: its header, its data rows (cells as text) and the encoding used."""

    headers: list[str]
    rows: list[list[str]]
    encoding: str | None  # None for XLSX


def read_table(data: bytes, file_name: str = "", encoding: str | None = None) -> Table:
    """Read CSV or XLSX bytes; RecordInvalid with a clear message when the file cannot be read."""
    if file_name.lower().endswith((".xlsx", ".xlsm")) or data.startswith(_XLSX_MAGIC):
        table = _read_xlsx(data)
    else:
        text, used = decode(data, encoding)
        table = Table(*_split_csv(text), used)
    if not table.headers or not any(h.strip() for h in table.headers):
        raise _invalid("the file has no header row")
    if len(table.rows) > MAX_ROWS:
        raise _invalid(f"the file has more than {MAX_ROWS} rows: split it")
    return table


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Return the text of ``data`` and the encoding used (the chosen one, or the first that fits)."""
    if encoding:
        name = encoding.strip().lower()
        if name not in CHOSEN:
            raise _invalid(f"unknown encoding '{encoding[:40]}'; choose one of {', '.join(sorted(CHOSEN))}")
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            raise _invalid(f"the file is not valid {name}: choose another encoding") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for name in ENCODINGS:
        try:
            return data.decode(name), "utf-8" if name == "utf-8-sig" else name
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # never fails: every byte is a character


def _split_csv(text: str) -> tuple[list[str], list[list[str]]]:
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise _invalid(f"the CSV file cannot be read: {exc}") from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        return [], []
    return _clean_headers(lines[0]), lines[1:]


def _read_xlsx(data: bytes) -> Table:
    # openpyxl reads the first sheet in read-only mode: rows stream without loading styles.
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # zip, XML or format errors all mean the same to the user
        raise _invalid("the file is not a readable XLSX workbook") from None
    sheet = book.worksheets[0]
    lines = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        return Table([], [], None)
    return Table(_clean_headers(lines[0]), lines[1:], None)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _clean_headers(headers: list[str]) -> list[str]:
    # Blank or repeated headers get a name so every column can be mapped on its own.
    seen: dict[str, int] = {}
    cleaned = []
    for index, header in enumerate(headers):
        name = header.strip() or f"column {index + 1}"
        seen[name] = seen.get(name, 0) + 1
        cleaned.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return cleaned


def _invalid(message: str) -> RecordInvalid:
    return RecordInvalid(message, [Problem("file", message, "file")])
