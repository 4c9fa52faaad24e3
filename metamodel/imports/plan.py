"""Turning the file's rows into units (one record each, with its lines) and finding duplicates within the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metamodel.imports.files import Table
from metamodel.imports.normalise import normalise
from metamodel.imports.options import ImportOptions
from metamodel.model import EntityModel

FIRST_DATA_ROW = 2  # row numbers are the file's: row 1 is the header


@dataclass
class Unit:
    """Rows that become one record: ``pick`` says which of several non-empty cells wins (first or last)."""

    rows: list[tuple[int, dict[str, str]]]
    pick: str = "first"
    status: str = "pending"
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Return the unit as stored in the ledger."""
        return {"rows": [[n, cells] for n, cells in self.rows], "pick": self.pick}


def unit_from_json(data: dict[str, Any]) -> Unit:
    """Return a unit read back from the ledger."""
    return Unit([(int(n), dict(cells)) for n, cells in data["rows"]], str(data.get("pick") or "first"))


def plan_units(table: Table, options: ImportOptions, model: EntityModel) -> list[Unit]:
    """Group rows into units by the parent key, then fold or skip units whose key repeats in the file."""
    units = _group(table, options)
    if not options.key_fields:
        return units
    header_of = {target: header for header, target in options.mapping.items() if target}
    seen: dict[tuple[str, ...], Unit] = {}
    planned: list[Unit] = []
    for unit in units:
        key = unit_key(unit, options, model, header_of)
        first = seen.get(key) if key else None
        if first is None:
            if key:
                seen[key] = unit
            planned.append(unit)
            continue
        row = unit.rows[0][0]
        if options.duplicates == "skip":
            message = f"duplicate of row {first.rows[0][0]} in the file (skipped)"
            unit.status = "skipped"
            unit.errors = [{"row": row, "column": _key_column(options, header_of), "message": message}]
            planned.append(unit)
        else:
            # update: later values win; merge: they only fill what the first row leaves empty.
            first.rows.extend(unit.rows)
            first.pick = "last" if options.duplicates == "update" else "first"
    return planned


def unit_key(
    unit: Unit, options: ImportOptions, model: EntityModel, header_of: dict[str, str]
) -> tuple[str, ...] | None:
    """Return the unit's normalised key (None when a key cell is empty)."""
    parts = []
    cells = unit.rows[0][1]
    for name in options.key_fields:
        value = normalise(model.fields[name], cells.get(header_of.get(name, ""), ""))
        if not value:
            return None
        parts.append(value)
    return tuple(parts)


def _group(table: Table, options: ImportOptions) -> list[Unit]:
    headers = table.headers
    units: list[Unit] = []
    by_key: dict[str, Unit] = {}
    column = headers.index(options.parent_key) if options.parent_key in headers else None
    for offset, line in enumerate(table.rows):
        cells = {h: (line[i].strip() if i < len(line) else "") for i, h in enumerate(headers)}
        row = (offset + FIRST_DATA_ROW, {h: v for h, v in cells.items() if v != ""})
        if column is None:
            units.append(Unit([row]))
            continue
        key = cells[headers[column]]
        # A blank parent key continues the record above (Frappe's layout); an equal one joins it anywhere.
        unit = by_key.get(key) if key else (units[-1] if units else None)
        if unit is None:
            unit = Unit([row])
            units.append(unit)
            if key:
                by_key[key] = unit
        else:
            unit.rows.append(row)
    return units


def _key_column(options: ImportOptions, header_of: dict[str, str]) -> str:
    return ", ".join(header_of.get(name, name) for name in options.key_fields)
