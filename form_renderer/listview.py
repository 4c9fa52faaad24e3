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
_WIDE_TYPES = ("long_text", "json", "attachment")
_UNLISTABLE = ("json", "attachment")
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
    editor: FilterWidget | None = None  # the in-place input of its cells; None: not editable in the list


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


def default_column_names(model: EntityModel) -> list[str]:
    """Return the entity's ``list_fields``, else its first few fields with short values."""
    return list(
        model.entity.doc.get("list_fields")
        or [f.name for f in model.column_fields() if f.type not in _WIDE_TYPES][:MAX_DEFAULT_COLUMNS]
    )


def choosable_columns(
    model: EntityModel, locale: str, restricted: Restricted = _NONE
) -> list[tuple[str, str]]:
    """Return (name, label) of every field a column chooser offers: stored fields not hidden from the reader."""
    return [
        (f.name, f.label(locale))
        for f in model.column_fields()
        if f.type not in _UNLISTABLE and _level(restricted, f.name) != "hidden"
    ]


def list_columns(
    model: EntityModel,
    locale: str,
    restricted: Restricted = _NONE,
    presentations: PresentationRegistry | None = None,
    chosen: list[str] | None = None,
) -> list[Column]:
    """Return the columns: the ``chosen`` fields that exist, else the entity's default columns.

    Fields hidden for the reader are left out; masked ones cannot be sorted by.
    """
    columnar = {f.name for f in model.column_fields() if f.type not in _UNLISTABLE}
    picked = [n for n in dict.fromkeys(chosen or []) if n in columnar]
    names = picked or default_column_names(model)
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
                _editor(definition, level, locale, presentations),
            )
        )
    return columns


def _editor(
    definition: FieldDef, level: str, locale: str, presentations: PresentationRegistry | None
) -> FilterWidget | None:
    # Only what the reader may change and a person types: no masked, read-only or computed fields.
    rules = definition.get("rules")
    computed = isinstance(rules, Mapping) and bool(rules.get("formula") or rules.get("rollup"))
    if presentations is None or level != "full" or computed:
        return None
    return presentations.of(definition.type).inline_widget(definition, locale)


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
        operators = tuple(field_type.operators)  # "isnull" is offered as "is empty" / "is not empty"
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
