"""The calendar's data: the days of a month (whole weeks) or of one week, and the records on each day by
one date or datetime field, read with the reader's row scope and field rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import url_for

from crm_platform.services import services
from form_renderer.presentation.moments import as_moment
from metamodel.definitions import FieldDef
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor
from metamodel.records.query import MAX_LIMIT, Filter, ListQuery

MODES = ("month", "week")


@dataclass
class Entry:
    """One record on the calendar."""

    id: int
    title: str
    url: str
    time: str  # "14:30" for a datetime field (in the reader's zone, like the rest of the pages), else ""
    lock_version: int


@dataclass
class Day:
    """One day cell."""

    date: dt.date
    in_period: bool
    today: bool
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Period:
    """The days shown and the anchors of the previous and next periods."""

    mode: str
    first: dt.date  # first day shown (a Monday)
    last: dt.date  # last day shown (a Sunday)
    anchor: dt.date
    previous: dt.date
    following: dt.date


def period_of(mode: str, anchor: dt.date) -> Period:
    """Return the whole weeks of the month of ``anchor``, or its week (weeks start on Monday)."""
    if mode == "week":
        first = anchor - dt.timedelta(days=anchor.weekday())
        return Period(
            mode,
            first,
            first + dt.timedelta(days=6),
            anchor,
            anchor - dt.timedelta(days=7),
            anchor + dt.timedelta(days=7),
        )
    start = anchor.replace(day=1)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    end = following - dt.timedelta(days=1)
    first = start - dt.timedelta(days=start.weekday())
    last = end + dt.timedelta(days=6 - end.weekday())
    previous = (start - dt.timedelta(days=1)).replace(day=1)
    return Period(mode, first, last, start, previous, following)


def parse_day(text: str | None, default: dt.date) -> dt.date:
    """Return the date in ``text`` (YYYY-MM-DD), else ``default``."""
    try:
        return dt.date.fromisoformat((text or "")[:10])
    except ValueError:
        return default


def load_days(
    model: EntityModel,
    definition: FieldDef,
    period: Period,
    filters: Sequence[Filter],
    actor: Actor,
    today: dt.date,
    zone: dt.tzinfo = dt.UTC,
) -> tuple[list[Day], bool]:
    """Return the period's days with their records, and whether more records than shown fall in it.

    Days are the reader's: a datetime falls on its date in ``zone`` and shows its time there.
    """
    runtime = services().runtime()
    field_type = services().field_types.of(definition)
    moments = definition.type == "datetime"
    after = period.last + dt.timedelta(days=1)
    low = field_type.prepare(
        definition, _midnight(period.first, zone) if moments else period.first.isoformat()
    )
    high = field_type.prepare(definition, _midnight(after, zone) if moments else after.isoformat())
    query = ListQuery(
        filters=[*filters, Filter(definition.name, "gte", low), Filter(definition.name, "lt", high)],
        sort=definition.name,
        limit=MAX_LIMIT,
    )
    page = runtime.list(model.name, query, actor)
    ids = [int(r["id"]) for r in page.items]
    titles = runtime.titles(model.name, ids, actor=actor) if ids else {}
    days = []
    count = (period.last - period.first).days + 1
    for offset in range(count):
        date = period.first + dt.timedelta(days=offset)
        in_period = period.mode == "week" or date.month == period.anchor.month
        days.append(Day(date, in_period, date == today))
    for record in page.items:
        value = str(record.get(definition.name) or "")
        moment = as_moment(value) if moments and value else None
        local = moment.astimezone(zone) if moment is not None else None
        index = ((local.date() if local else parse_day(value, period.first)) - period.first).days
        if not 0 <= index < count:
            continue
        days[index].entries.append(
            Entry(
                id=int(record["id"]),
                title=titles.get(int(record["id"]), f"#{record['id']}"),
                url=url_for("pages.record_detail", entity=model.name, record_id=record["id"]),
                time=local.strftime("%H:%M") if local else "",
                lock_version=int(record.get("lock_version") or 0),
            )
        )
    return days, page.has_more


def moved_value(definition: FieldDef, old: str | None, day: dt.date, zone: dt.tzinfo = dt.UTC) -> str:
    """Return the field's new value on ``day``: a datetime keeps its time of day in the reader's zone."""
    if definition.type != "datetime":
        return day.isoformat()
    moment = as_moment(old) if old else None
    clock = moment.astimezone(zone).time().replace(tzinfo=None) if moment else dt.time(9, 0)
    local = dt.datetime.combine(day, clock, zone)
    return local.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone)
