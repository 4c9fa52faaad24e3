"""Dashboard documents: checks against the entities and reports they show, and the queries of their widgets.

A widget is a number (one measure over this period, compared with the previous one), a saved report,
or a short list of records. Each is answered on its own, so one slow or refused widget never blocks the
others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from metamodel.definitions import Bundle
from metamodel.errors import BadQuery, Problem
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.model import EntityModel, SiteModel
from metamodel.records.aggregate import AggregateQuery, Measure, parse_aggregate
from metamodel.records.query import DEFAULT_LIMIT, ListQuery, make_filter, sort_field

PERIODS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    """A half-open span of local time [start, end) and the one before it."""

    start: dt.datetime
    end: dt.datetime
    previous_start: dt.datetime


def period_around(now: dt.datetime, unit: str, zone: ZoneInfo) -> Period:
    """Return the day/week/month/quarter/year containing ``now`` in ``zone``, and the one before."""
    local = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        start, step_back = local, _days(1)
    elif unit == "week":
        start, step_back = local - dt.timedelta(days=local.weekday()), _days(7)
    elif unit == "month":
        start, step_back = local.replace(day=1), _months(1)
    elif unit == "quarter":
        start, step_back = local.replace(month=(local.month - 1) // 3 * 3 + 1, day=1), _months(3)
    elif unit == "year":
        start, step_back = local.replace(month=1, day=1), _months(12)
    else:
        raise ValueError(f"unknown period '{unit}'")
    end = step_back(start, -1)
    return Period(_wall(start, zone), _wall(end, zone), _wall(step_back(start, 1), zone))


def _wall(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    # Re-attach the zone to the wall time so a period that crosses a DST change keeps its local midnight.
    return moment.replace(tzinfo=None).replace(tzinfo=zone)


def _days(count: int) -> Any:
    return lambda start, direction: start - dt.timedelta(days=count * direction)


def _months(count: int) -> Any:
    def step(start: dt.datetime, direction: int) -> dt.datetime:
        index = start.year * 12 + start.month - 1 - count * direction
        return start.replace(year=index // 12, month=index % 12 + 1)

    return step


def number_queries(
    model: EntityModel,
    registry: FieldTypeRegistry,
    widget: Mapping[str, Any],
    now: dt.datetime,
    zone: ZoneInfo,
) -> tuple[AggregateQuery, AggregateQuery | None]:
    """Return the aggregate queries of a number widget: this period, and the previous one (None without a date)."""
    spec = {
        "measures": [widget.get("measure") or {"function": "count"}],
        "filters": widget.get("filters") or [],
    }
    date_field = widget.get("date_field")
    if not date_field:
        return parse_aggregate(model, registry, spec, param="widget"), None
    span = period_around(now, str(widget.get("period") or "month"), zone)
    is_date = model.fields[date_field].type == "date" if date_field in model.fields else False

    def bounded(start: dt.datetime, end: dt.datetime) -> AggregateQuery:
        low: Any = start.date().isoformat() if is_date else start.isoformat()
        high: Any = end.date().isoformat() if is_date else end.isoformat()
        query = parse_aggregate(model, registry, spec, param="widget")
        query.filters += [
            make_filter(model, registry, date_field, "gte", low),
            make_filter(model, registry, date_field, "lt", high),
        ]
        return query

    return bounded(span.start, span.end), bounded(span.previous_start, span.start)


def list_query(model: EntityModel, registry: FieldTypeRegistry, widget: Mapping[str, Any]) -> ListQuery:
    """Return the list query of a list widget (its filters, sort and at most ``limit`` rows)."""
    filters = [
        make_filter(model, registry, str(f["field"]), str(f.get("op", "eq")), f.get("value"))
        for f in widget.get("filters") or []
    ]
    sort = str(widget.get("sort") or model.entity.doc.get("default_sort") or "-id")
    sort_field(model, registry, sort)
    return ListQuery(filters=filters, sort=sort, limit=int(widget.get("limit") or min(5, DEFAULT_LIMIT)))


def check_dashboards(bundle: Bundle, registry: FieldTypeRegistry) -> list[Problem]:
    """Return the problems of every dashboard: unknown reports and entities, measures and filters that do not fit."""
    dashboards = bundle.docs("dashboard")
    if not dashboards:
        return []
    site = SiteModel(0, bundle, registry)
    problems: list[Problem] = []
    for name, doc in dashboards.items():
        for index, widget in enumerate(doc.get("widgets") or []):
            problems += _check_widget(bundle, site, widget, f"dashboard.{name}.widgets[{index}]")
    return problems


def _check_widget(bundle: Bundle, site: SiteModel, widget: Mapping[str, Any], path: str) -> list[Problem]:
    kind = widget.get("type")
    if kind == "report":
        report = widget.get("report")
        if report not in bundle.docs("report"):
            return [Problem(f"{path}.report", f"unknown report '{report}'", "reference")]
        return []
    entity = widget.get("entity")
    if entity not in bundle.docs("entity"):
        return [
            Problem(f"{path}.entity", f"a {kind} widget needs a known entity, not '{entity}'", "reference")
        ]
    model = site.entity(str(entity))
    try:
        if kind == "number":
            date_field = widget.get("date_field")
            if date_field and (
                date_field not in model.fields or not site.registry.of(model.fields[date_field]).temporal
            ):
                return [
                    Problem(
                        f"{path}.date_field", f"'{date_field}' is not a date or datetime field", "date_field"
                    )
                ]
            number_queries(model, site.registry, widget, dt.datetime.now(dt.UTC), ZoneInfo("UTC"))
        else:
            list_query(model, site.registry, widget)
            unknown = [c for c in widget.get("columns") or [] if c not in model.fields]
            if unknown:
                return [Problem(f"{path}.columns", f"unknown fields: {', '.join(unknown)}", "reference")]
    except BadQuery as exc:
        return [Problem(path, p.message, p.code) for p in exc.problems]
    return []


def measure_of(query: AggregateQuery) -> Measure:
    """Return the one measure of a number widget's query."""
    return query.measures[0]
