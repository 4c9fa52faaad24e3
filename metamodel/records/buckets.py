"""Date buckets (day, week, month, quarter, year) as SQL, in the site's time zone, for SQLite and PostgreSQL.

A bucket is named by its first day, as text ``YYYY-MM-DD`` on both databases, so results compare and sort
alike. Datetimes are stored as naive UTC; they are moved into the time zone before bucketing. PostgreSQL does
that exactly (``timezone()``); SQLite has no time-zone data, so a zone with one offset over the data's span
(Asia/Shanghai since 1992, UTC) becomes a minutes modifier, and a zone with daylight saving time goes through
``crm_local_time``, a Python function registered on each SQLite connection (exact, slower). When the span of a
datetime column is known, SQLite compares with the buckets' UTC starts instead (bucket_bounds): faster still.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Date, String, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from metamodel.records.bucket_bounds import (
    MAX_DST_ZONE_BUCKETS,
    MAX_FIXED_ZONE_BUCKETS,
    Span,
    boundaries,
    compared_bucket,
)

BUCKETS = ("day", "week", "month", "quarter", "year")


def check_time_zone(name: str) -> ZoneInfo:
    """Return the zone called ``name``; ValueError when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name}'") from None


def fixed_offset_minutes(zone: ZoneInfo, span: Span | None = None) -> int | None:
    """Return the zone's offset in minutes when it does not change over ``span``, else None.

    Without a span, over every year since 1970 and the next two: a zone that kept summer time in the past
    (Shanghai until 1991, Sao Paulo until 2019) is not fixed for dates back then.
    """
    if span is None:
        first, last = dt.date(1970, 1, 1), dt.date(dt.datetime.now(dt.UTC).year + 2, 12, 31)
    else:
        first, last = span[0].date(), span[1].date() + dt.timedelta(days=1)
    return _constant_offset(zone.key, first, last)


@lru_cache(maxsize=512)
def _constant_offset(zone_key: str, first: dt.date, last: dt.date) -> int | None:
    # Weekly samples: no daylight-saving period lasts less than a week.
    zone = ZoneInfo(zone_key)
    start = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC)
    weeks = (last - first).days // 7 + 1
    moments = [start + dt.timedelta(weeks=i) for i in range(weeks)]
    moments.append(dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC))
    offsets = {moment.astimezone(zone).utcoffset() for moment in moments}
    if len(offsets) != 1:
        return None
    offset = offsets.pop()
    return None if offset is None else int(offset.total_seconds() // 60)


def local_time(value: str | None, zone_name: str) -> str | None:
    """SQLite function ``crm_local_time``: a stored naive-UTC datetime text as local wall time text."""
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(zone_name)).replace(tzinfo=None).isoformat(sep=" ")


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Register the helper functions buckets need on a new SQLite connection."""
    dbapi_connection.create_function("crm_local_time", 2, local_time, deterministic=True)


def bucket(
    column: Any, unit: str, *, is_datetime: bool, dialect: str, zone: ZoneInfo, span: Span | None = None
) -> ColumnElement[Any]:
    """Return the SQL of the bucket of ``column`` (first day of the day/week/month/quarter/year, as text).

    ``span`` is the datetime column's (min, max) when known: on SQLite the buckets in it are then found by
    comparing with their UTC starts instead of a date function per row (see bucket_bounds).
    """
    if unit not in BUCKETS:
        raise ValueError(f"unknown date bucket '{unit}'; use one of {', '.join(BUCKETS)}")
    if dialect == "postgresql":
        return _postgresql(column, unit, is_datetime, zone)
    if not is_datetime or span is None:
        return _sqlite(column, unit, is_datetime, zone)
    fixed = fixed_offset_minutes(zone, span)
    bounds = boundaries(
        span, unit, zone, MAX_FIXED_ZONE_BUCKETS if fixed is not None else MAX_DST_ZONE_BUCKETS
    )
    if bounds is None:
        # Every value lies in the span (read in the same transaction): its offset is enough.
        return _sqlite(column, unit, is_datetime, zone, fixed)
    # Values outside the range (none, but the result must not depend on it) and NULL go through the per-row path.
    return compared_bucket(column, bounds, _sqlite(column, unit, is_datetime, zone))


def _postgresql(column: Any, unit: str, is_datetime: bool, zone: ZoneInfo) -> ColumnElement[Any]:
    local = func.timezone(zone.key, func.timezone("UTC", column)) if is_datetime else column
    # date_trunc('week') starts weeks on Monday (ISO), as the SQLite branch does.
    return cast(cast(func.date_trunc(unit, local), Date), String)


def _sqlite(
    column: Any, unit: str, is_datetime: bool, zone: ZoneInfo, minutes: int | None = None
) -> ColumnElement[Any]:
    # A fixed offset goes in as a modifier of the date function itself (one call per row, not two).
    moment: list[Any] = [column]
    if is_datetime:
        minutes = fixed_offset_minutes(zone) if minutes is None else minutes
        if minutes is None:
            moment = [func.crm_local_time(column, zone.key)]
        elif minutes:
            moment = [column, f"{minutes:+d} minutes"]
    # Explicit operators: generic functions have no SQL type, so ``+`` would not know to concatenate.
    if unit == "day":
        return func.date(*moment)
    if unit == "week":
        # strftime('%w') is 0 for Sunday; step back to Monday.
        back = func.strftime("%w", *moment).op("+")(literal(6)).op("%")(literal(7))
        return func.date(*moment, literal("-").op("||")(back).op("||")(literal(" days")))
    if unit == "month":
        return func.strftime("%Y-%m-01", *moment)
    if unit == "year":
        return func.strftime("%Y-01-01", *moment)
    month = func.strftime("%m", *moment).op("-")(literal(1)).op("/")(literal(3))  # integer division
    first_month = month.op("*")(literal(3)).op("+")(literal(1))
    return func.strftime("%Y-", *moment).op("||")(func.printf("%02d", first_month)).op("||")(literal("-01"))
