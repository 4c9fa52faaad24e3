"""How a field type presents itself: display text, list cell, form widget and filter widget, from one class.

The field types in ``metamodel`` own storage and validation and know nothing of HTML; each one is paired
here with a ``Presentation`` registered under the same type name (in ``crm_platform.startup``, next to
the field types; plugins register theirs through ``PluginContext.presentations``). Pages render values
and widgets only through the registry, so a new field type needs no change anywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, ClassVar

from markupsafe import Markup, escape

from metamodel.definitions import FieldDef

EMPTY = Markup('<span class="crm-empty text-secondary">—</span>')


def html(template: str, *values: Any) -> Markup:
    """Return ``template`` (trusted markup with ``{}`` holes) filled with ``values``, each escaped.

    The same as ``Markup(template).format(*values)`` without ``string.Formatter`` walking the template in
    Python: several times faster, and a list page fills hundreds of cells.
    """
    return Markup(template.format(*[escape(value) for value in values]))


def _no_url(*_: Any) -> str:
    return "#"


def _same(key: str) -> str:
    return key


@dataclass(frozen=True)
class DisplayContext:
    """What rendering a value may need beyond the value: the locale, the reader's zone, how to link to things.

    The callables come from the web layer (Flask's ``url_for``, the message catalog), so this package
    needs no Flask.
    """

    locale: str = "en"
    record_url: Callable[[str, Any], str] = _no_url  # (entity, record id) -> URL
    file_url: Callable[[Any], str] = _no_url  # attachment id -> URL
    text: Callable[[str], str] = _same  # translate a catalog key (yes, no, lines...)
    zone: dt.tzinfo = dt.UTC  # the reader's time zone: datetimes are shown (and typed) in it


@dataclass(frozen=True)
class FilterWidget:
    """The value input of a list filter: an HTML input kind and, for choices, the options."""

    kind: str = "text"  # text | number | date | datetime-local | select
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Shown:
    """One value to present: the field, its JSON value and what the reader may see of it."""

    field: FieldDef
    value: Any
    title: str = ""  # a linked record's title
    masked: bool = False  # the value is a mask (138****1234), shown as such
    extra: dict[str, Any] = dc_field(default_factory=dict)


class Presentation:
    """Base of presentations; subclasses set ``type`` (the field type's name) and override what differs."""

    type: ClassVar[str]
    # Widgets (form templates ``widgets/<name>.html``) a field of this type may be rendered with; the
    # first is its own. A form override may pick another of these.
    widgets: ClassVar[tuple[str, ...]] = ("text",)
    # A folder holding this presentation's ``widgets/<name>.html`` templates (plugins); None: built in.
    template_folder: ClassVar[Path | None] = None
    align_end: ClassVar[bool] = False  # numbers are right-aligned in list cells

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        """Return the value as a reader should see it on a record page (escaped HTML)."""
        return escape(self.text(shown, ctx))

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        """Return the value as plain human text (exports, tooltips, chips)."""
        value = shown.value
        return "" if value is None else str(value)

    def cell(self, shown: Shown, ctx: DisplayContext) -> Markup:
        """Return the value as a list cell shows it (denser than ``display`` where that helps)."""
        return self.display(shown, ctx)

    def filter_widget(self, definition: FieldDef, locale: str) -> FilterWidget:
        """Return the input a list filter on this field offers for its value."""
        return FilterWidget("text")

    def inline_widget(self, definition: FieldDef, locale: str) -> FilterWidget | None:
        """Return the input a list cell offers for editing in place; None: edit on the record form only."""
        return self.filter_widget(definition, locale)

    def form_values(self, definition: FieldDef, values: list[str], zone: dt.tzinfo) -> list[str]:
        """Return what a form posted for this field as its type reads it (a datetime typed in ``zone``)."""
        return values

    def filter_values(self, definition: FieldDef, op: str, raw: str, zone: dt.tzinfo) -> str:
        """Return a list filter's value as its type reads it (a datetime's day taken in ``zone``)."""
        return raw

    def widget_template(self, widget: str) -> str:
        """Return the Jinja template name rendering ``widget``."""
        return f"widgets/{widget}.html"


class PresentationRegistry:
    """Presentations by field-type name; filled once at start-up (built-ins, then plugins)."""

    def __init__(self, fallback: Presentation | None = None) -> None:
        self._items: dict[str, Presentation] = {}
        self._fallback = fallback or Presentation()

    def register(self, presentation: type[Presentation]) -> None:
        """Register a presentation class under its field type's name."""
        name = presentation.type
        if name in self._items:
            raise ValueError(f"presentation of field type {name!r} is already registered")
        self._items[name] = presentation()

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def of(self, type_name: str) -> Presentation:
        """Return the presentation of a field type (plain text for a type without one)."""
        return self._items.get(type_name, self._fallback)

    def names(self) -> list[str]:
        """Return the type names with a presentation, in registration order."""
        return list(self._items)

    def template_folders(self) -> list[Path]:
        """Return the template folders of plugin presentations (built-in widgets live in form_renderer)."""
        folders = [p.template_folder for p in self._items.values() if p.template_folder is not None]
        return list(dict.fromkeys(folders))

    def present(self, shown: Shown, ctx: DisplayContext, cell: bool = False) -> Markup:
        """Render a value for reading: empty as a dash, a mask as a mask, else through its type."""
        value = shown.value
        if value is None or value == "" or value == []:
            return EMPTY
        if shown.masked:
            return html('<span class="masked crm-masked font-monospace">{}</span>', value)
        presentation = self.of(shown.field.type)
        return presentation.cell(shown, ctx) if cell else presentation.display(shown, ctx)


def register_all(registry: PresentationRegistry, items: Iterable[type[Presentation]]) -> PresentationRegistry:
    """Register every presentation of ``items``; return the registry."""
    for item in items:
        registry.register(item)
    return registry


__all__ = [
    "EMPTY",
    "DisplayContext",
    "FilterWidget",
    "Presentation",
    "PresentationRegistry",
    "Shown",
    "html",
    "register_all",
]
