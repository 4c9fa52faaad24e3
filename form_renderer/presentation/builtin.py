"""The presentations of the built-in field types: one class per type, registered at start-up."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, ClassVar

from babel import Locale
from babel.numbers import get_currency_symbol
from markupsafe import Markup, escape

from form_renderer.presentation.base import DisplayContext, FilterWidget, Presentation, Shown, html
from form_renderer.presentation.moments import DateTimePresentation, babel_locale
from metamodel.definitions import FieldDef

# Tabler's named colours; an option's colour is one of these or a #rgb / #rrggbb value.
NAMED_COLOURS = frozenset(
    "blue azure indigo purple pink red orange yellow lime green teal cyan gray dark".split()
)
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


@lru_cache(maxsize=16)
def _symbols(locale: str) -> tuple[str, str, str]:
    """Return the locale's (group separator, decimal separator, minus sign), read from CLDR once."""
    symbols = Locale.parse(babel_locale(locale)).number_symbols["latn"]
    return str(symbols["group"]), str(symbols["decimal"]), str(symbols["minusSign"])


@lru_cache(maxsize=64)
def _currency_symbol(code: str, locale: str) -> str:
    return str(get_currency_symbol(code, babel_locale(locale)))


def grouped(number: Decimal, places: int, locale: str, prefix: str = "") -> str:
    """Return ``number`` with ``places`` decimals and the locale's separators (a list page formats many:
    Python's own formatting with CLDR's symbols is ~50x faster than Babel's pattern engine)."""
    group, decimal, minus = _symbols(locale)
    text = f"{abs(number):,.{places}f}".replace(",", "\0").replace(".", decimal).replace("\0", group)
    return (minus if number < 0 else "") + prefix + text


def _options(definition: FieldDef, locale: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(c.get("value")), definition.choice_label(str(c.get("value")), locale))
        for c in definition.choices
    )


def badge(label: str, colour: str | None) -> Markup:
    """Return an option badge: a dot and a light tint of the option's colour, the text in the body colour.

    The text keeps the body colour so every badge reads at 4.5:1 whatever the option's colour; the colour
    is a Tabler name (``var(--tblr-green)``) or a ``#rgb`` / ``#rrggbb`` value, anything else is grey.
    """
    if colour and colour in NAMED_COLOURS:
        tone = f"var(--tblr-{colour})"
    elif colour and _HEX.match(colour):
        tone = colour
    else:
        tone = "var(--tblr-secondary)"
    return html(
        '<span class="badge crm-badge" style="--crm-badge: {}"><span class="crm-dot"></span>{}</span>',
        tone,
        label,
    )


class TextPresentation(Presentation):
    """Single-line text."""

    type = "text"
    widgets: ClassVar[tuple[str, ...]] = ("text", "textarea", "email", "tel", "url")


class LongTextPresentation(Presentation):
    """Multi-line text: line breaks are kept when shown."""

    type = "long_text"
    widgets: ClassVar[tuple[str, ...]] = ("textarea", "text")

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        return html('<span class="crm-multiline">{}</span>', shown.value)

    def cell(self, shown: Shown, ctx: DisplayContext) -> Markup:
        text = str(shown.value)
        short = text if len(text) <= 80 else text[:79] + "…"
        return html('<span title="{}">{}</span>', text, short.replace("\n", " "))


class _NumberPresentation(Presentation):
    widgets: ClassVar[tuple[str, ...]] = ("number",)
    align_end = True

    def decimals(self, definition: FieldDef) -> int:
        """Return the decimal places shown."""
        return 0

    def number(self, value: Any) -> Decimal | None:
        """Return the value as a Decimal, or None when it is no number."""
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            return None

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        number = self.number(shown.value)
        if number is None:
            return str(shown.value)
        return grouped(number, self.decimals(shown.field), ctx.locale)

    def filter_widget(self, definition: FieldDef, locale: str) -> FilterWidget:
        return FilterWidget("number")


class IntegerPresentation(_NumberPresentation):
    """Whole numbers with the locale's group separators."""

    type = "integer"


class DecimalPresentation(_NumberPresentation):
    """Exact decimals with their scale and the locale's separators."""

    type = "decimal"

    def decimals(self, definition: FieldDef) -> int:
        return int(definition.get("scale", 2))


class CurrencyPresentation(DecimalPresentation):
    """Money: the amount with its currency symbol as the locale writes it."""

    type = "currency"
    widgets: ClassVar[tuple[str, ...]] = ("currency",)

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        number = self.number(shown.value)
        code = shown.field.get("currency")
        if number is None or not code:
            return super().text(shown, ctx)
        return grouped(
            number, self.decimals(shown.field), ctx.locale, _currency_symbol(str(code), ctx.locale)
        )


class BooleanPresentation(Presentation):
    """Yes / no as an icon with a text for screen readers."""

    type = "boolean"
    widgets: ClassVar[tuple[str, ...]] = ("checkbox",)

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        return ctx.text("value.yes") if shown.value else ctx.text("value.no")

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        word = self.text(shown, ctx)
        if shown.value:
            return html(
                '<span class="crm-bool crm-yes text-success" title="{0}">'
                '<i class="ti ti-circle-check" aria-hidden="true"></i><span class="visually-hidden">{0}</span></span>',
                word,
            )
        return html(
            '<span class="crm-bool crm-no text-secondary" title="{0}">'
            '<i class="ti ti-circle-x" aria-hidden="true"></i><span class="visually-hidden">{0}</span></span>',
            word,
        )

    def filter_widget(self, definition: FieldDef, locale: str) -> FilterWidget:
        return FilterWidget("select", (("true", "✓"), ("false", "✗")))


class DatePresentation(Presentation):
    """Calendar dates as 2026-12-04."""

    type = "date"
    widgets: ClassVar[tuple[str, ...]] = ("date",)

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        return str(shown.value)[:10]

    def filter_widget(self, definition: FieldDef, locale: str) -> FilterWidget:
        return FilterWidget("date")


class SelectPresentation(Presentation):
    """One option: its label as a badge in the option's colour."""

    type = "select"
    widgets: ClassVar[tuple[str, ...]] = ("select", "radio")

    def colour(self, definition: FieldDef, value: str) -> str | None:
        """Return the colour of an option, if it has one."""
        for choice in definition.choices:
            if choice.get("value") == value:
                colour = choice.get("color")
                return str(colour) if colour else None
        return None

    def labels(self, shown: Shown, ctx: DisplayContext) -> list[tuple[str, str]]:
        """Return (value, label) of the chosen options."""
        values = shown.value if isinstance(shown.value, list) else [shown.value]
        return [(str(v), shown.field.choice_label(str(v), ctx.locale)) for v in values]

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        return ", ".join(label for _, label in self.labels(shown, ctx))

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        return Markup(" ").join(
            badge(label, self.colour(shown.field, value)) for value, label in self.labels(shown, ctx)
        )

    def filter_widget(self, definition: FieldDef, locale: str) -> FilterWidget:
        return FilterWidget("select", _options(definition, locale))


class MultiSelectPresentation(SelectPresentation):
    """Several options, each a badge."""

    type = "multi_select"
    widgets: ClassVar[tuple[str, ...]] = ("multi_select",)

    def inline_widget(self, definition: FieldDef, locale: str) -> FilterWidget | None:
        return None  # several options are chosen on the record form


class EmailPresentation(TextPresentation):
    """An e-mail address, linked with mailto:."""

    type = "email"
    widgets: ClassVar[tuple[str, ...]] = ("email", "text")

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        if "*" in str(shown.value):  # a mask (a pool contact, a field rule): nothing to write to
            return html('<span class="masked crm-masked">{}</span>', shown.value)
        return html('<a href="mailto:{0}">{0}</a>', shown.value)


class PhonePresentation(TextPresentation):
    """A phone number, linked with tel: so a phone can call it."""

    type = "phone"
    widgets: ClassVar[tuple[str, ...]] = ("tel", "text")

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        if "*" in str(shown.value):  # a mask (a pool contact, a field rule): nothing to call
            return html('<span class="masked crm-masked">{}</span>', shown.value)
        number = re.sub(r"[^0-9+]", "", str(shown.value))
        return html('<a href="tel:{}">{}</a>', number, shown.value)


class UrlPresentation(TextPresentation):
    """A web address, linked (only http and https; anything else shown as text)."""

    type = "url"
    widgets: ClassVar[tuple[str, ...]] = ("url", "text")

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        text = str(shown.value)
        if not text.lower().startswith(("http://", "https://")):
            return escape(text)
        return html('<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>', text)


class LinkPresentation(Presentation):
    """A linked record: its title, linked to it."""

    type = "link"
    widgets: ClassVar[tuple[str, ...]] = ("link",)

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        return shown.title or f"#{shown.value}"

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        href = ctx.record_url(str(shown.field.get("target")), shown.value)
        return html('<a href="{}">{}</a>', href, self.text(shown, ctx))

    def filter_widget(self, definition: FieldDef, locale: str) -> FilterWidget:
        return FilterWidget("link", (("target", str(definition.get("target"))),))

    def inline_widget(self, definition: FieldDef, locale: str) -> FilterWidget | None:
        return None  # a record picker needs the form's search-as-you-type widget


class ChildTablePresentation(Presentation):
    """Lines of a child table: the page renders them as a table; elsewhere their count."""

    type = "child_table"
    widgets: ClassVar[tuple[str, ...]] = ("child_table",)

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        count = len(shown.value) if isinstance(shown.value, list) else 0
        return ctx.text("value.lines").format(n=count)

    def inline_widget(self, definition: FieldDef, locale: str) -> FilterWidget | None:
        return None  # not a value one types into a cell


class JsonPresentation(Presentation):
    """JSON, pretty-printed."""

    type = "json"
    widgets: ClassVar[tuple[str, ...]] = ("json",)

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        return json.dumps(shown.value, ensure_ascii=False)

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        pretty = json.dumps(shown.value, ensure_ascii=False, indent=2)
        return html('<pre class="crm-json mb-0">{}</pre>', pretty)

    def cell(self, shown: Shown, ctx: DisplayContext) -> Markup:
        text = self.text(shown, ctx)
        return html('<code title="{}">{}</code>', text, text[:60])

    def inline_widget(self, definition: FieldDef, locale: str) -> FilterWidget | None:
        return None  # not a value one types into a cell


class AttachmentPresentation(Presentation):
    """A stored file, linked for download."""

    type = "attachment"
    widgets: ClassVar[tuple[str, ...]] = ("attachment",)
    icon: ClassVar[str] = "ti ti-paperclip"

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        return str(shown.extra.get("filename") or ctx.text("form.current_file") + f" #{shown.value}")

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        return html(
            '<a href="{}"><i class="{}" aria-hidden="true"></i> {}</a>',
            ctx.file_url(shown.value),
            self.icon,
            self.text(shown, ctx),
        )

    def inline_widget(self, definition: FieldDef, locale: str) -> FilterWidget | None:
        return None  # not a value one types into a cell


BUILTIN_PRESENTATIONS: tuple[type[Presentation], ...] = (
    TextPresentation,
    LongTextPresentation,
    IntegerPresentation,
    DecimalPresentation,
    CurrencyPresentation,
    BooleanPresentation,
    DatePresentation,
    DateTimePresentation,
    SelectPresentation,
    MultiSelectPresentation,
    EmailPresentation,
    PhonePresentation,
    UrlPresentation,
    LinkPresentation,
    ChildTablePresentation,
    JsonPresentation,
    AttachmentPresentation,
)
