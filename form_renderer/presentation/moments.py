"""The presentation of datetimes: stored in UTC, shown and typed in the reader's zone and locale.

A record page reads ``Dec 4, 2026, 14:30`` / ``2026年12月4日 14:30`` (Babel, the reader's locale), a list
cell ``12-04 14:30`` with the full value and the zone in a tooltip, exports and chips ``2026-12-04 14:30``;
never seconds or microseconds. A ``datetime-local`` input shows the reader's wall time and what it posts is
read in her zone, so the stored moment is the one she meant.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any, ClassVar

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from markupsafe import Markup, escape

from form_renderer.presentation.base import DisplayContext, FilterWidget, Presentation, Shown, html
from metamodel.definitions import FieldDef


def babel_locale(locale: str) -> str:
    """Return Babel's name of a UI locale."""
    return "zh_Hans_CN" if locale.lower().startswith("zh") else "en"


def as_moment(value: Any) -> dt.datetime | None:
    """Return a stored or serialized datetime as an aware datetime (naive means UTC), or None."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@lru_cache(maxsize=8)
def _joiner(locale: str) -> str:
    """Return the locale's pattern joining a date and a time (``{1}, {0}`` in English)."""
    return str(Locale.parse(babel_locale(locale)).datetime_formats["medium"])


def long_text(moment: dt.datetime, locale: str, zone: dt.tzinfo) -> str:
    """Return ``moment`` as a reader of ``locale`` in ``zone`` writes it, without seconds."""
    local = moment.astimezone(zone)
    where = babel_locale(locale)
    return _joiner(locale).format(
        format_skeleton("Hm", local, locale=where), format_date(local, "medium", where)
    )


def short_text(moment: dt.datetime, locale: str, zone: dt.tzinfo) -> str:
    """Return ``moment`` as a dense list cell shows it: ``12-04 14:30`` in ``zone``."""
    return str(format_datetime(moment, "MM-dd HH:mm", tzinfo=zone, locale=babel_locale(locale)))


def plain_text(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """Return ``moment`` as ``2026-12-04 14:30`` in ``zone`` (exports sort it as text)."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def zone_name(zone: dt.tzinfo) -> str:
    """Return the IANA name of a zone (``Asia/Shanghai``), or what it calls itself."""
    return str(getattr(zone, "key", None) or zone.tzname(None) or "UTC")


def zone_offset(zone: dt.tzinfo, at: dt.datetime | None = None) -> str:
    """Return a zone's offset from UTC now (or ``at``) as ``GMT+08:00`` (compact, for a phone)."""
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(zone)
    offset = moment.utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"GMT{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def input_value(value: Any, zone: dt.tzinfo) -> str:
    """Return a stored datetime as a ``datetime-local`` input shows it: the wall time in ``zone``."""
    moment = as_moment(value) if value not in (None, "") else None
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def read_input(text: str, zone: dt.tzinfo) -> str:
    """Return what a ``datetime-local`` input posted as an ISO moment in UTC (its wall time read in ``zone``).

    Text with an offset keeps it; text that is no datetime is passed on unchanged for the field type to
    refuse with its own message.
    """
    raw = text.strip()
    if not raw:
        return raw
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)  # fold=0: an ambiguous wall time is its first occurrence
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def day_bound(text: str, zone: dt.tzinfo, end: bool) -> str:
    """Return a day (``2026-03-03``) as the UTC moment its start (or, ``end``, its last instant) is in ``zone``;
    any other text unchanged."""
    try:
        day = dt.date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return text
    moment = dt.datetime.combine(day, dt.time(), zone)
    if end:
        moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone) - dt.timedelta(
            microseconds=1
        )
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# A day given to a datetime filter: "on or after 3 March" starts at its midnight, "on or before 5 March"
# and "between 3 and 5 March" include all of the 5th, "after 5 March" starts on the 6th.
_DAY_ENDS = {"gte": False, "lt": False, "eq": False, "ne": False, "lte": True, "gt": True}


class DateTimePresentation(Presentation):
    """Moments in the reader's zone and locale, without seconds; lists shorten to 12-04 14:30."""

    type = "datetime"
    widgets: ClassVar[tuple[str, ...]] = ("datetime",)

    def text(self, shown: Shown, ctx: DisplayContext) -> str:
        if isinstance(shown.value, str) and len(shown.value) == 10:
            return shown.value  # a day (a filter chip's "on or after 2026-03-03") is no moment to shift
        moment = as_moment(shown.value)
        return str(shown.value) if moment is None else plain_text(moment, ctx.zone)

    def display(self, shown: Shown, ctx: DisplayContext) -> Markup:
        moment = as_moment(shown.value)
        if moment is None:
            return escape(str(shown.value))
        return html(
            '<time datetime="{}" title="{}">{}</time>',
            _utc(moment),
            f"{plain_text(moment, ctx.zone)} {zone_name(ctx.zone)}",
            long_text(moment, ctx.locale, ctx.zone),
        )

    def cell(self, shown: Shown, ctx: DisplayContext) -> Markup:
        moment = as_moment(shown.value)
        if moment is None:
            return escape(str(shown.value))
        return html(
            '<time datetime="{}" title="{}">{}</time>',
            _utc(moment),
            f"{long_text(moment, ctx.locale, ctx.zone)} {zone_name(ctx.zone)}",
            short_text(moment, ctx.locale, ctx.zone),
        )

    def filter_widget(self, definition: FieldDef, locale: str) -> FilterWidget:
        return FilterWidget("date")

    def inline_widget(self, definition: FieldDef, locale: str) -> FilterWidget | None:
        return FilterWidget("datetime-local")

    def form_values(self, definition: FieldDef, values: list[str], zone: dt.tzinfo) -> list[str]:
        return [read_input(value, zone) for value in values]

    def filter_values(self, definition: FieldDef, op: str, raw: str, zone: dt.tzinfo) -> str:
        if op == "between":
            parts = raw.split(",")
            if len(parts) == 2:
                return f"{day_bound(parts[0], zone, False)},{day_bound(parts[1], zone, True)}"
            return raw
        if op in _DAY_ENDS:
            return day_bound(raw, zone, _DAY_ENDS[op])
        return raw


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
