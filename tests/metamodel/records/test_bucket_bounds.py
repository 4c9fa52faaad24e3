"""Datetime buckets by comparison with precomputed boundaries (SQLite's fast path) give exactly the buckets of
the local wall time, in zones with daylight saving time too: records a millisecond either side of each local
midnight around the transitions, compared with Python's own zone arithmetic on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from metamodel.records.aggregate import bucket_spans, build_statement, parse_aggregate
from metamodel.records.bucket_bounds import boundaries, bucket_start, next_start
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.mmsupport import Site, entity, select_field

EVENT = entity(
    "event",
    [
        {"name": "title", "type": "text"},
        select_field("kind", ["call", "visit"]),
        {"name": "at", "type": "datetime", "indexed": True},  # indexed: the fast path in every zone
        {"name": "loose", "type": "datetime"},  # not indexed: the fast path only in zones with DST
    ],
    title_field="title",
)
# (zone, local days around which records sit): spring and autumn transitions, a midnight that does not exist
# (Sao Paulo 2018), one that happens twice (Havana 2025), a half-hour shift (Lord Howe) and a fixed offset.
CASES = [
    ("Europe/Berlin", ["2026-03-29", "2026-03-30", "2026-10-25", "2026-10-26", "2026-01-01"]),
    ("America/New_York", ["2026-03-08", "2026-03-09", "2026-11-01", "2026-11-02", "2026-04-01"]),
    ("America/Sao_Paulo", ["2018-11-04", "2018-11-05", "2019-02-17", "2019-01-01"]),
    ("America/Havana", ["2025-11-02", "2025-11-03", "2025-03-09", "2025-10-01"]),
    ("America/Santiago", ["2026-04-05", "2026-04-04", "2026-09-06", "2026-07-01"]),
    ("Australia/Lord_Howe", ["2026-04-05", "2026-04-06", "2026-10-04", "2026-10-01"]),
    ("Asia/Shanghai", ["2025-12-31", "2026-01-01", "2026-03-01", "2026-04-01"]),
]
UNITS = ["day", "week", "month", "quarter", "year"]


def moments(zone: ZoneInfo, days: list[str]) -> list[dt.datetime]:
    """UTC instants a millisecond, a second and an hour either side of each local midnight (both folds).

    Not a microsecond: SQLite's own date functions (the per-row path) round to the millisecond."""
    found = set()
    for day in days:
        for fold in (0, 1):
            midnight = dt.datetime.fromisoformat(day).replace(tzinfo=zone, fold=fold).astimezone(dt.UTC)
            for offset in (0, 1_000, 1_000_000, 3_600_000_000, 5_400_000_000):
                for sign in (1, -1):
                    found.add(midnight + dt.timedelta(microseconds=sign * offset))
    return sorted(found)


def local_label(moment: dt.datetime, zone: ZoneInfo, unit: str) -> str:
    """The bucket of ``moment``'s wall time in ``zone``, written out independently of the engine."""
    day = moment.astimezone(zone).date()
    if unit == "week":
        day -= dt.timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    elif unit == "quarter":
        day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    elif unit == "year":
        day = day.replace(month=1, day=1)
    return day.isoformat()


@pytest.fixture(params=CASES, ids=[zone for zone, _days in CASES])
def events(request: Any, site: Site) -> tuple[RecordRuntime, str, list[dt.datetime]]:
    zone_name, days = request.param
    runtime = site.publish([EVENT])
    instants = moments(ZoneInfo(zone_name), days)
    for i, moment in enumerate(instants):
        runtime.create(
            "event",
            {
                "title": f"e{i}",
                "kind": ["call", "visit"][i % 2],
                "at": moment.isoformat(),
                "loose": moment.isoformat(),
            },
        )
    runtime.create("event", {"title": "empty", "kind": "call"})  # no date: its own (NULL) bucket
    return runtime, zone_name, instants


@pytest.mark.parametrize("field", ["at", "loose"])
@pytest.mark.parametrize("unit", UNITS)
def test_buckets_equal_the_local_wall_time_in_every_zone(
    events: tuple[RecordRuntime, str, list[dt.datetime]], unit: str, field: str
) -> None:
    runtime, zone_name, instants = events
    spec = {
        "dimensions": ["kind", {"field": field, "bucket": unit}],
        "measures": [{"function": "count"}],
        "time_zone": zone_name,
    }
    rows = runtime.aggregate(
        "event", parse_aggregate(runtime.model.entity("event"), runtime.registry, spec)
    ).rows
    zone = ZoneInfo(zone_name)
    expected: dict[tuple[str, str | None], int] = {("call", None): 1}
    for i, moment in enumerate(instants):
        key = (["call", "visit"][i % 2], local_label(moment, zone, unit))
        expected[key] = expected.get(key, 0) + 1
    assert {(row["kind"], row[f"{field}__{unit}"]): row["count"] for row in rows} == expected


def test_the_fast_path_is_taken_where_it_pays_and_is_exact(site: Site, db_kind: str) -> None:
    runtime = site.publish([EVENT])
    for day in ("2025-11-02", "2026-03-01", "2026-05-20"):
        runtime.create(
            "event",
            {"title": day, "kind": "call", "at": f"{day}T10:00:00+00:00", "loose": f"{day}T10:00:00+00:00"},
        )
    model = runtime.model.entity("event")

    def sql(field: str, unit: str, zone: str) -> str:
        spec = {"dimensions": [{"field": field, "bucket": unit}], "time_zone": zone}
        query = parse_aggregate(model, runtime.registry, spec)
        with runtime.engine.connect() as conn:
            spans = bucket_spans(conn, model, query)
            return str(build_statement(model, runtime.registry, query, [], conn.dialect.name, spans))

    if db_kind == "postgresql":
        assert "CASE" not in sql("at", "month", "Europe/Berlin")  # PostgreSQL converts zones natively
        return
    assert "CASE" in sql("at", "month", "Asia/Shanghai")  # indexed column: two seeks find the range
    assert "CASE" not in sql("loose", "month", "UTC")  # a scan for the range would cost more than it saves
    # Shanghai kept summer time until 1991: the range is worth a scan, to know whether it matters.
    assert "CASE" in sql("loose", "month", "Asia/Shanghai")
    assert "CASE" in sql("loose", "day", "Europe/Berlin")  # cheaper than a Python call per row
    assert "CASE" not in sql("at", "day", "Asia/Shanghai")  # 200 day buckets: comparisons would cost more
    assert "CASE" not in sql("at", "day", "America/Havana")  # a midnight that happens twice: per row


def test_boundaries_are_the_first_instant_of_each_local_bucket() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    span = (dt.datetime(2026, 3, 28, 12), dt.datetime(2026, 3, 30, 12))
    assert boundaries(span, "day", berlin, 10) == [
        ("2026-03-28", dt.datetime(2026, 3, 27, 23)),
        ("2026-03-29", dt.datetime(2026, 3, 28, 23)),
        ("2026-03-30", dt.datetime(2026, 3, 29, 22)),  # summer time from 29 March, 02:00
        ("2026-03-31", dt.datetime(2026, 3, 30, 22)),  # the end: the start of the bucket after the range
    ]
    # Sao Paulo skipped midnight on 4 November 2018: the day began at 01:00 local, 03:00 UTC.
    sao_paulo = (dt.datetime(2018, 11, 3, 12), dt.datetime(2018, 11, 4, 12))
    assert boundaries(sao_paulo, "day", ZoneInfo("America/Sao_Paulo"), 10) == [
        ("2018-11-03", dt.datetime(2018, 11, 3, 3)),
        ("2018-11-04", dt.datetime(2018, 11, 4, 3)),
        ("2018-11-05", dt.datetime(2018, 11, 5, 2)),
    ]
    # Havana's midnight of 2 November 2025 happened twice: no boundary is right for both, so none.
    havana = (dt.datetime(2025, 11, 1, 12), dt.datetime(2025, 11, 3, 12))
    assert boundaries(havana, "day", ZoneInfo("America/Havana"), 10) is None
    assert boundaries(havana, "month", ZoneInfo("America/Havana"), 10) is not None  # months start elsewhere
    assert boundaries(span, "day", berlin, 2) is None  # more buckets than allowed


@pytest.mark.parametrize(
    ("day", "unit", "start", "after"),
    [
        ("2026-01-04", "week", "2025-12-29", "2026-01-05"),
        ("2026-12-31", "month", "2026-12-01", "2027-01-01"),
        ("2026-11-15", "quarter", "2026-10-01", "2027-01-01"),
        ("2026-06-30", "year", "2026-01-01", "2027-01-01"),
        ("2026-02-28", "day", "2026-02-28", "2026-03-01"),
    ],
)
def test_bucket_starts_and_the_next_one(day: str, unit: str, start: str, after: str) -> None:
    first = bucket_start(dt.date.fromisoformat(day), unit)
    assert first.isoformat() == start
    assert next_start(first, unit).isoformat() == after
