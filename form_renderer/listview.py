"""List view-models: which columns a list shows and which filter controls it offers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from form_renderer.presentation import DisplayContext, FilterWidget, PresentationRegistry, Shown
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
    align_end: bool = False  # numbers are right-aligned


@dataclass(frozen=True)
class FilterControl:
    """One filter the list's filter bar offers: a field, its operators and its options."""

    name: str
    label: str
    widget: str
    operators: tuple[str, ...]
    options: tuple[tuple[str, str], ...]
    input: FilterWidget = field(
        default_factory=FilterWidget
    )  # the value input its type's presentation offers


def list_columns(
    model: EntityModel,
    locale: str,
    restricted: Restricted = _NONE,
    presentations: PresentationRegistry | None = None,
) -> list[Column]:
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
                bool(presentations and presentations.of(definition.type).align_end),
            )
        )
    return columns


def filter_controls(
    model: EntityModel,
    locale: str,
    restricted: Restricted = _NONE,
    presentations: PresentationRegistry | None = None,
) -> list[FilterControl]:
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
        widget = (
            presentations.of(definition.type).filter_widget(definition, locale)
            if presentations
            else FilterWidget()
        )
        controls.append(
            FilterControl(
                definition.name, definition.label(locale), field_type.widget, operators, options, widget
            )
        )
    return controls


def cell(
    presentations: PresentationRegistry,
    definition: FieldDef,
    record: dict[str, Any],
    ctx: DisplayContext,
    restricted: Restricted = _NONE,
) -> Markup:
    """Return one list cell of a serialized record, rendered by its field type's presentation."""
    title = str((record.get("_titles") or {}).get(definition.name, ""))
    masked = _level(restricted, definition.name) == "masked"
    shown = Shown(definition, record.get(definition.name), title=title, masked=masked)
    return presentations.present(shown, ctx, cell=True)
