"""Turning a unit's cells into the payload the record runtime takes, naming each bad cell by row and column."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.imports.links import LinkNotFound, LinkResolver
from metamodel.imports.options import ImportOptions
from metamodel.imports.plan import Unit

_LIST_SPLIT = re.compile(r"\s*[,;，；、|]\s*")
_TRUE = {"是", "√", "✓", "对", "真"}
_FALSE = {"否", "×", "✗", "错", "假"}


@dataclass
class Converted:
    """A unit's payload, the file row each line came from, and the cells that could not be read."""

    payload: dict[str, Any]
    line_rows: dict[str, list[int]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


class Converter:
    """Converts units of one import; link lookups are cached for the whole batch."""

    def __init__(
        self,
        options: ImportOptions,
        fields: dict[str, FieldDef],
        registry: FieldTypeRegistry,
        links: LinkResolver,
    ) -> None:
        self.options = options
        self.fields = fields  # target name -> field definition
        self.registry = registry
        self.links = links
        self.columns = [(h, t) for h, t in options.mapping.items() if t]
        self._choices: dict[int, dict[str, str]] = {}  # id of a field -> option name (casefolded) -> value

    def convert(self, unit: Unit) -> Converted:
        """Return the payload of ``unit``: parent values picked across its rows, one line per row with line cells."""
        result = Converted({})
        rows = unit.rows if unit.pick == "first" else list(reversed(unit.rows))
        for header, target in self.columns:
            if "." in target:
                continue
            for row_no, cells in rows:
                if header in cells:
                    self._put(result, result.payload, target, header, row_no, cells[header])
                    break
        for row_no, cells in unit.rows:
            lines: dict[str, dict[str, Any]] = {}
            for header, target in self.columns:
                if "." in target and header in cells:
                    child, _ = target.split(".", 1)
                    line = lines.setdefault(child, {})
                    self._put(result, line, target, header, row_no, cells[header])
            for child, line in lines.items():
                result.payload.setdefault(child, []).append(line)
                result.line_rows.setdefault(child, []).append(row_no)
        return result

    def _put(
        self, result: Converted, into: dict[str, Any], target: str, header: str, row_no: int, text: str
    ) -> None:
        f = self.fields[target]
        try:
            into[f.name] = self.cell(f, text)
        except (LinkNotFound, ValueError) as exc:
            result.errors.append({"row": row_no, "column": header, "message": str(exc)})

    def cell(self, f: FieldDef, text: str) -> Any:
        """Return the raw runtime input for one cell of field ``f``."""
        if f.type == "link":
            by = self.options.link_keys.get(f.name)
            return self.links.resolve(str(f.get("target")), by, text)
        if f.type == "select":
            return self._option(f, text)
        if f.type == "multi_select":
            return [self._option(f, part) for part in _LIST_SPLIT.split(text) if part]
        if f.type == "boolean":
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            return text
        return self.registry.of(f).from_form(f, [text])

    def _option(self, f: FieldDef, text: str) -> str:
        # An option is given by its value or by its label in any language, case and spaces ignored;
        # the names are read from the field once per batch, not per cell.
        names = self._choices.get(id(f))
        if names is None:
            names = self._choices[id(f)] = _option_names(f)
        return names.get(text.strip().casefold(), text)  # unknown: the runtime names the allowed values


def _option_names(f: FieldDef) -> dict[str, str]:
    # The first option naming a text wins, as when the options were searched in order.
    names: dict[str, str] = {}
    for choice in f.choices:
        value = str(choice.get("value"))
        labels = choice.get("label") or {}
        for name in [value, *(labels.values() if isinstance(labels, dict) else [labels])]:
            names.setdefault(str(name).strip().casefold(), value)
    return names
