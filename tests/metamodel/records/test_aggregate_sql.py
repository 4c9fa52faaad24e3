"""Aggregate queries against SQL written by hand for each database: every measure, every date bucket in the
site's time zone (Asia/Shanghai, with records just after midnight local time, still the day before in UTC),
and duration measures (mean time to repair)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from metamodel.errors import BadQuery
from metamodel.records.aggregate import parse_aggregate
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.mmsupport import Site, entity, select_field

JOB = entity(
    "job",
    [
        {"name": "title", "type": "text"},
        select_field("stage", ["new", "won", "lost"]),
        {"name": "qty", "type": "integer"},
        {"name": "amount", "type": "decimal", "scale": 2},
        {"name": "day", "type": "date"},
        {"name": "due", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "done_at", "type": "datetime"},
    ],
    title_field="title",
)
ZONE = "Asia/Shanghai"  # UTC+8 all year
# Moments on the edges of the local calendar: each falls on another local day (and week, month, quarter or
# year) than its UTC date says.
EDGES = (
    "2025-12-31T16:00:00",  # 2026-01-01 00:00 local: a new year, quarter, month and day
    "2025-12-31T15:59:59",  # still 2025-12-31 23:59:59 local
    "2026-01-04T16:30:00",  # Sunday in UTC, Monday 2026-01-05 local: a new week
    "2026-03-31T17:45:00",  # 2026-04-01 local: a new quarter
    "2026-06-30T23:59:00",  # 2026-07-01 07:59 local
    "2026-02-28T16:00:01",  # 2026-03-01 local
)


def job(i: int) -> dict[str, Any]:
    at = dt.datetime.fromisoformat(EDGES[i % len(EDGES)]) + dt.timedelta(days=(i // len(EDGES)) * 7)
    return {
        "title": f"j{i}",
        "stage": ["new", "won", "lost", None][i % 4],
        "qty": None if i % 9 == 0 else i % 7,
        "amount": None if i % 11 == 0 else f"{(i * 37) % 500}.{i % 100:02d}",
        "day": (dt.date(2025, 12, 28) + dt.timedelta(days=i * 5)).isoformat(),
        "due": None if i % 6 == 0 else (dt.date(2025, 12, 28) + dt.timedelta(days=i * 5 + i % 4)).isoformat(),
        "at": at.isoformat() + "+00:00",
        "done_at": None if i % 5 == 0 else (at + dt.timedelta(minutes=37 * i + 90)).isoformat() + "+00:00",
    }


@pytest.fixture
def jobs(site: Site) -> RecordRuntime:
    runtime = site.publish([JOB])
    for i in range(48):
        runtime.create("job", job(i))
    return runtime


def hand_sql(runtime: RecordRuntime, select: str, group: bool = True) -> dict[Any, Any]:
    """Run hand-written SQL returning (group, value) rows over the job table."""
    table = runtime.model.entity("job").table.name
    sql = f"SELECT {select} FROM {table}" + (" GROUP BY 1" if group else "")
    with runtime.engine.connect() as conn:
        return {row[0]: row[1] for row in conn.exec_driver_sql(sql).all()}


def report(runtime: RecordRuntime, spec: dict[str, Any]) -> list[dict[str, Any]]:
    query = parse_aggregate(runtime.model.entity("job"), runtime.registry, {"time_zone": ZONE, **spec})
    return runtime.aggregate("job", query).rows


def close(got: dict[Any, Any], expected: dict[Any, Any]) -> None:
    """The same groups with the same values (numbers equal to 1e-6; floats and decimals compare)."""
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if value is None or isinstance(value, str):
            assert got[key] == value, key
        else:
            assert got[key] is not None and abs(Decimal(str(got[key])) - Decimal(str(value))) < Decimal(
                "0.000001"
            ), (key, got[key], value)


def _numbers(db_kind: str, column: str) -> str:
    # Decimals are scaled integers on SQLite (two places here); numeric on PostgreSQL.
    return f"({column} / 100.0)" if db_kind == "sqlite" and column == "amount" else column


@pytest.mark.parametrize("function", ["count", "sum", "avg", "min", "max", "count_distinct"])
@pytest.mark.parametrize("field", ["qty", "amount"])
def test_every_measure_equals_hand_written_sql(
    jobs: RecordRuntime, db_kind: str, function: str, field: str
) -> None:
    measure = {"function": function} if function == "count" else {"function": function, "field": field}
    rows = report(jobs, {"dimensions": ["stage"], "measures": [measure]})
    key = "count" if function == "count" else f"{function}__{field}"
    column = _numbers(db_kind, field)
    expression = {
        "count": "count(*)",
        "count_distinct": f"count(DISTINCT {field})",
    }.get(function, f"{function}({column})")
    close({row["stage"]: row[key] for row in rows}, hand_sql(jobs, f"stage, {expression}"))


def test_count_distinct_of_a_select_and_a_date_and_min_max_of_dates(jobs: RecordRuntime) -> None:
    rows = report(
        jobs,
        {
            "dimensions": ["stage"],
            "measures": [
                {"function": "count_distinct", "field": "stage"},
                {"function": "count_distinct", "field": "day"},
                {"function": "min", "field": "day"},
                {"function": "max", "field": "day"},
            ],
        },
    )
    for key, sql in (
        ("count_distinct__stage", "count(DISTINCT stage)"),
        ("count_distinct__day", "count(DISTINCT day)"),
    ):
        assert {row["stage"]: row[key] for row in rows} == hand_sql(jobs, f"stage, {sql}")
    for function in ("min", "max"):
        expected = hand_sql(jobs, f"stage, CAST({function}(day) AS VARCHAR(10))")
        assert {row["stage"]: row[f"{function}__day"].isoformat() for row in rows} == expected


def _local_bucket(db_kind: str, column: str, unit: str, shift: bool) -> str:
    """The first day of the local day/week/month/quarter/year of ``column``, as YYYY-MM-DD text."""
    if db_kind == "postgresql":
        local = f"({column} + interval '8 hours')" if shift else column
        return f"to_char(date_trunc('{unit}', {local}), 'YYYY-MM-DD')"
    local = f"datetime({column}, '+8 hours')" if shift else f"date({column})"
    if unit == "day":
        return f"substr({local}, 1, 10)"
    if unit == "week":  # the next Sunday (or this one), six days back: the Monday
        return f"date({local}, 'weekday 0', '-6 days')"
    if unit == "month":
        return f"substr({local}, 1, 7) || '-01'"
    if unit == "quarter":
        month = f"CAST(substr({local}, 6, 2) AS INTEGER)"
        return f"substr({local}, 1, 5) || printf('%02d', ({month} - 1) / 3 * 3 + 1) || '-01'"
    return f"substr({local}, 1, 4) || '-01-01'"


@pytest.mark.parametrize("unit", ["day", "week", "month", "quarter", "year"])
@pytest.mark.parametrize("field", ["at", "day"])
def test_every_date_bucket_in_the_site_time_zone_equals_hand_written_sql(
    jobs: RecordRuntime, db_kind: str, unit: str, field: str
) -> None:
    rows = report(
        jobs,
        {"dimensions": [{"field": field, "bucket": unit}], "measures": [{"function": "sum", "field": "qty"}]},
    )
    bucket = _local_bucket(db_kind, field, unit, shift=field == "at")
    expected = hand_sql(jobs, f"{bucket}, sum(qty)")
    assert {row[f"{field}__{unit}"]: row["sum__qty"] for row in rows} == expected
    assert [row[f"{field}__{unit}"] for row in rows] == sorted(expected)


def test_the_edges_fall_on_the_local_day(jobs: RecordRuntime) -> None:
    rows = report(jobs, {"dimensions": [{"field": "at", "bucket": "day"}]})
    days = {row["at__day"] for row in rows}
    # New Year's first minute local time is 2025-12-31 in UTC; one second earlier is still the old year.
    assert {"2026-01-01", "2025-12-31", "2026-01-05", "2026-04-01", "2026-07-01", "2026-03-01"} <= days
    years = report(jobs, {"dimensions": [{"field": "at", "bucket": "year"}]})
    assert {row["at__year"] for row in years} == {"2025-01-01", "2026-01-01"}


def _hours_sql(db_kind: str, end: str, start: str) -> str:
    if db_kind == "postgresql":
        return f"(extract(epoch FROM {end}) - extract(epoch FROM {start})) / 3600.0"
    return f"(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER)) / 3600.0"


@pytest.mark.parametrize("function", ["avg", "sum", "min", "max"])
def test_duration_measures_equal_hand_written_sql(jobs: RecordRuntime, db_kind: str, function: str) -> None:
    measure = {"function": function, "field": "done_at", "since": "at", "unit": "hours"}
    rows = report(jobs, {"dimensions": ["stage"], "measures": [measure]})
    expected = hand_sql(jobs, f"stage, {function}({_hours_sql(db_kind, 'done_at', 'at')})")
    close({row["stage"]: row[f"{function}__done_at__since__at"] for row in rows}, expected)


def test_duration_units_and_dates_and_the_system_dates(jobs: RecordRuntime, db_kind: str) -> None:
    (row,) = report(
        jobs,
        {
            "measures": [
                {"function": "avg", "field": "done_at", "since": "at", "unit": "minutes"},
                {"function": "max", "field": "done_at", "since": "at", "unit": "days"},
                {"function": "avg", "field": "due", "since": "day", "unit": "days"},
                {"function": "sum", "field": "updated_at", "since": "created_at"},
            ]
        },
    )
    hours = _hours_sql(db_kind, "done_at", "at")
    days = "(due - day)" if db_kind == "postgresql" else "(julianday(due) - julianday(day))"
    (expected,) = [
        tuple(r)
        for r in jobs.engine.connect().exec_driver_sql(
            f"SELECT avg({hours} * 60), max({hours} / 24), avg({days}) "
            f"FROM {jobs.model.entity('job').table.name}"
        )
    ]
    got = (
        row["avg__done_at__since__at"],
        row["max__done_at__since__at"],
        row["avg__due__since__day"],
    )
    close(dict(enumerate(got)), dict(enumerate(expected)))
    assert row["sum__updated_at__since__created_at"] == pytest.approx(0.0, abs=1e-6)


def test_sorting_by_a_duration(jobs: RecordRuntime) -> None:
    key = "avg__done_at__since__at"
    rows = report(
        jobs,
        {
            "dimensions": ["stage"],
            "measures": [{"function": "avg", "field": "done_at", "since": "at"}],
            "sort": [f"-{key}"],
        },
    )
    values = [row[key] for row in rows]
    assert values == sorted(values, reverse=True) and len(values) == 4


@pytest.mark.parametrize(
    ("measure", "words"),
    [
        ({"function": "count_distinct", "field": "done_at", "since": "at"}, "sum, avg, min, max"),
        ({"function": "avg", "field": "done_at", "since": "done_at"}, "from one date field"),
        ({"function": "avg", "field": "done_at"}, "does not apply"),
        ({"function": "avg", "field": "done_at", "since": "at", "unit": "weeks"}, "minutes, hours, days"),
        ({"function": "avg", "field": "done_at", "since": "day"}, "must both be dates or both date-times"),
        ({"function": "avg", "field": "done_at", "since": "qty"}, "is not a date"),
        ({"function": "avg", "field": "done_at", "since": "nope"}, "no field 'nope'"),
    ],
)
def test_bad_duration_measures_are_refused(jobs: RecordRuntime, measure: dict[str, Any], words: str) -> None:
    with pytest.raises(BadQuery) as caught:
        parse_aggregate(jobs.model.entity("job"), jobs.registry, {"measures": [measure]})
    assert [p.path for p in caught.value.problems] == ["report.measures[0]"]
    assert words in caught.value.problems[0].message


def test_sqlite_reads_the_whole_table_without_an_index_only_for_unfiltered_reports_of_a_column(
    jobs: RecordRuntime, db_kind: str
) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(jobs.engine, "before_cursor_execute", seen)
    try:
        summed = report(jobs, {"dimensions": ["stage"], "measures": [{"function": "sum", "field": "qty"}]})
        counted = report(jobs, {"dimensions": ["stage"], "measures": [{"function": "count"}]})
        filtered = report(
            jobs,
            {
                "dimensions": ["stage"],
                "measures": [{"function": "sum", "field": "qty"}],
                "filters": [{"field": "qty", "op": "gt", "value": 2}],
            },
        )
    finally:
        event.remove(jobs.engine, "before_cursor_execute", seen)
    grouped = [s for s in statements if "GROUP BY" in s]
    scans = ["NOT INDEXED" in s for s in grouped]
    # A sum over every record: a scan in table order (no row fetched by id through the stage index).
    assert scans == ([True, False, False] if db_kind == "sqlite" else [False, False, False])
    close({r["stage"]: r["sum__qty"] for r in summed}, hand_sql(jobs, "stage, sum(qty)"))
    close({r["stage"]: r["count"] for r in counted}, hand_sql(jobs, "stage, count(*)"))
    assert filtered and all(r["sum__qty"] > 2 for r in filtered if r["sum__qty"] is not None)
