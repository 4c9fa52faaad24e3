"""List cells of the record list: text, option badges with the option's colour, numbers right-aligned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from form_renderer.listview import cell_text
from metamodel.model import EntityModel

NUMERIC_TYPES = frozenset({"integer", "decimal", "currency", "percent"})
OPTION_TYPES = frozenset({"select", "multi_select"})
# Option colours named in metadata -> the dot colour of the badge (the text keeps the body colour,
# so every badge reads at 4.5:1 whatever the option's colour).
DOT_COLOURS = {
    "gray": "#8a94a6",
    "grey": "#8a94a6",
    "blue": "#206bc4",
    "azure": "#4299e1",
    "indigo": "#4263eb",
    "purple": "#ae3ec9",
    "pink": "#d6336c",
    "red": "#d63939",
    "orange": "#f76707",
    "yellow": "#f59f00",
    "lime": "#74b816",
    "green": "#2fb344",
    "teal": "#0ca678",
    "cyan": "#17a2b8",
}


@dataclass
class Badge:
    """One option shown as a badge."""

    label: str
    colour: str


@dataclass
class Cell:
    """One cell of a list row."""

    text: Any
    numeric: bool = False
    badges: list[Badge] = field(default_factory=list)


def _badges(model: EntityModel, name: str, value: Any, locale: str) -> list[Badge]:
    options = {str(o.get("value")): o for o in model.fields[name].doc.get("options") or []}
    badges = []
    for raw in value if isinstance(value, list) else [value]:
        option = options.get(str(raw), {})
        labels = option.get("label") or {}
        label = labels.get(locale) or labels.get("en") if isinstance(labels, dict) else labels
        colour = DOT_COLOURS.get(str(option.get("color") or "gray"), DOT_COLOURS["gray"])
        badges.append(Badge(str(label or raw), colour))
    return badges


def list_cell(model: EntityModel, name: str, record: dict[str, Any], locale: str) -> Cell:
    """Return the cell of field ``name`` of ``record`` as the list shows it."""
    text = cell_text(model.fields[name], model, record, locale)  # kept as is: Markup stays Markup
    kind = model.fields[name].type
    value = record.get(name)
    if kind in OPTION_TYPES and value not in (None, "", []):
        return Cell(text, badges=_badges(model, name, value, locale))
    return Cell(text, numeric=kind in NUMERIC_TYPES)
