"""List view-models: which columns a list shows and which filter controls it offers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metamodel.definitions import FieldDef
from metamodel.model import EntityModel

MAX_DEFAULT_COLUMNS = 6
# Field rules of the reader (field name -> an object with ``level``: hidden | masked | readonly).
Restricted = Mapping[str, Any]
_NONE: Restricted = {}


def _level(restricted: Restricted, name: str) -> str:
    rule = restricted.get(name)
    return str(rule.level) if rule is not None else "full"


@dataclass(frozen=True)
class Column:
    """One list column."""

    name: str
    label: str
    sortable: bool


@dataclass(frozen=True)
class FilterControl:
    """One filter the list's filter bar offers: a field, its operators and its options."""

    name: str
    label: str
    widget: str
    operators: tuple[str, ...]
    options: tuple[tuple[str, str], ...]


def list_columns(model: EntityModel, locale: str, restricted: Restricted = _NONE) -> list[Column]:
    """Return the columns: the entity's ``list_fields``, else its first few fields with values.

    Fields hidden for the reader are left out; masked ones cannot be sorted by.
    """
    names = (
        model.entity.doc.get("list_fields")
        or [f.name for f in model.column_fields() if f.type not in ("long_text", "json", "attachment")][
            :MAX_DEFAULT_COLUMNS
        ]
    )
    columns = []
    for name in names:
        definition = model.fields[name]
        level = _level(restricted, name)
        if level == "hidden":
            continue
        columns.append(
            Column(
                name,
                definition.label(locale),
                model.types[name].sortable and level != "masked" and name not in model.seals,
            )
        )
    return columns


def filter_controls(model: EntityModel, locale: str, restricted: Restricted = _NONE) -> list[FilterControl]:
    """Return a filter control for every field whose type offers operators (not hidden or masked ones)."""
    controls = []
    for definition in model.column_fields():
        if _level(restricted, definition.name) in ("hidden", "masked"):
            continue
        field_type = model.types[definition.name]
        operators = tuple(op for op in field_type.operators if op != "isnull")
        seal = model.seals.get(definition.name)
        if seal is not None:  # encrypted: exact matches through the search hash, or nothing
            operators = tuple(op for op in operators if op in ("eq", "ne", "in")) if seal.hashed else ()
        if not operators:
            continue
        options = tuple(
            (str(c.get("value")), definition.choice_label(str(c.get("value")), locale))
            for c in definition.choices
        )
        controls.append(
            FilterControl(definition.name, definition.label(locale), field_type.widget, operators, options)
        )
    return controls


def cell_text(definition: FieldDef, model: EntityModel, record: dict[str, Any], locale: str) -> str:
    """Return the display text of one field of a serialized record."""
    value = record.get(definition.name)
    if value is None or value == []:
        return ""
    if definition.type == "link":
        return str((record.get("_titles") or {}).get(definition.name, f"#{value}"))
    if definition.type == "select":
        return definition.choice_label(str(value), locale)
    if definition.type == "multi_select":
        return ", ".join(definition.choice_label(str(v), locale) for v in value)
    if definition.type == "boolean":
        return "✓" if value else "✗"
    if definition.type == "currency" and definition.get("currency"):
        return f"{value} {definition.get('currency')}"
    if definition.type == "datetime":
        return str(value).replace("T", " ").replace("Z", " UTC")
    return str(value)
