"""Drill-down: the record-list filters that open the records behind one row of a report's result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from metamodel.model import EntityModel
from metamodel.records.aggregate import ORG_UNIT, OWNER, Dimension

_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def bucket_end(start: dt.date, unit: str) -> dt.date:
    """Return the first day after the day/week/month/quarter/year bucket that begins on ``start``."""
    if unit == "day":
        return start + dt.timedelta(days=1)
    if unit == "week":
        return start + dt.timedelta(days=7)
    index = start.year * 12 + start.month - 1 + _MONTHS[unit]
    return dt.date(index // 12, index % 12 + 1, 1)


def _bound(day: dt.date, is_datetime: bool, zone: ZoneInfo) -> str:
    # A datetime bucket starts at local midnight in the site's zone; the list filter takes it with its offset.
    if not is_datetime:
        return day.isoformat()
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).isoformat()


def drill_args(
    model: EntityModel,
    doc: dict[str, Any],
    dimensions: Sequence[Dimension],
    row: dict[str, Any],
    zone_name: str,
) -> dict[str, str] | None:
    """Return the list query (``field__op`` → value) of a result row, or None when it cannot be expressed."""
    args: dict[str, str] = {}
    for item in (doc.get("query") or {}).get("filters") or []:
        op = str(item.get("op", "eq"))
        args[str(item["field"]) if op == "eq" else f"{item['field']}__{op}"] = _text(item.get("value"))
    zone = ZoneInfo(zone_name)
    for dimension in dimensions:
        value = row.get(dimension.key)
        if value is None or dimension.field == ORG_UNIT:
            return None  # the list has no "is empty" or org-unit filter to reach these records
        if dimension.field == OWNER:
            args["owner_id"] = str(value)
        elif dimension.bucket:
            start = dt.date.fromisoformat(str(value)[:10])
            definition = model.fields.get(dimension.field)
            is_datetime = definition is None or definition.type == "datetime"
            args[f"{dimension.field}__gte"] = _bound(start, is_datetime, zone)
            args[f"{dimension.field}__lt"] = _bound(bucket_end(start, dimension.bucket), is_datetime, zone)
        else:
            args[dimension.field] = _text(value)
    return args


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)
