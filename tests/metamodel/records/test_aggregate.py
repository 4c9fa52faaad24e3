"""Aggregate queries: every measure and date bucket equals an answer computed by hand from the records."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from metamodel.errors import BadQuery
from metamodel.records.aggregate import parse_aggregate
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.mmsupport import Site, entity, select_field

SALE = entity(
    "sale",
    [
        {"name": "title", "type": "text"},
        select_field("stage", ["new", "won", "lost"]),
        {"name": "qty", "type": "integer"},
        {"name": "amount", "type": "decimal"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "paid", "type": "boolean"},
        {"name": "tags", "type": "multi_select", "options": [{"value": "x"}]},
    ],
    title_field="title",
)

START = dt.datetime(2025, 12, 29, 15, 30, tzinfo=dt.UTC)  # crosses midnight, week, month, quarter, year edges


def sale(i: int) -> dict[str, Any]:
    return {
        "title": f"s{i}",
        "stage": ["new", "won", "lost", None][i % 4],
        "qty": None if i % 9 == 0 else i % 7,
        "amount": None if i % 11 == 0 else f"{(i * 37) % 500}.{i % 100:02d}",
        "day": (dt.date(2025, 12, 20) + dt.timedelta(days=i * 3)).isoformat(),
        "at": (START + dt.timedelta(hours=i * 19)).isoformat(),
        "paid": None if i % 5 == 0 else bool(i % 2),
    }


@pytest.fixture
def sales(site: Site) -> tuple[RecordRuntime, list[dict[str, Any]]]:
    runtime = site.publish([SALE])
    records = [runtime.create("sale", sale(i)) for i in range(60)]
    return runtime, records


def first_day(day: dt.date, unit: str) -> str:
    if unit == "week":
        day = day - dt.timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    elif unit == "quarter":
        day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    elif unit == "year":
        day = day.replace(month=1, day=1)
    return day.isoformat()


def oracle(
    records: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], field: str | None, function: str
) -> dict[Any, Any]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    answer: dict[Any, Any] = {}
    for group, members in groups.items():
        values = [r[field] for r in members if field and r[field] is not None]
        numbers: list[Any] = [Decimal(str(v)) for v in values] if field in ("qty", "amount") else values
        if function == "count":
            answer[group] = len(members)
        elif function == "count_distinct":
            answer[group] = len(set(values))
        elif function == "sum":
            answer[group] = sum(numbers) if numbers else None
        elif function == "avg":
            answer[group] = sum(numbers) / len(numbers) if numbers else None
        elif function == "min":
            answer[group] = min(numbers) if numbers else None
        else:
            answer[group] = max(numbers) if numbers else None
    return answer


def run(runtime: RecordRuntime, spec: dict[str, Any]) -> list[dict[str, Any]]:
    query = parse_aggregate(runtime.model.entity("sale"), runtime.registry, spec)
    return runtime.aggregate("sale", query).rows


def normal(value: Any) -> Any:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value).quantize(Decimal("0.0001"))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.mark.parametrize("function", ["count", "sum", "avg", "min", "max", "count_distinct"])
@pytest.mark.parametrize("field", ["qty", "amount"])
def test_every_measure_by_a_select_field_equals_the_hand_computed_answer(
    sales: Any, function: str, field: str
) -> None:
    runtime, records = sales
    measure = {"function": function} if function == "count" else {"function": function, "field": field}
    rows = run(runtime, {"dimensions": ["stage"], "measures": [measure]})
    key = "count" if function == "count" else f"{function}__{field}"
    got = {row["stage"]: normal(row[key]) for row in rows}
    expected = {
        k: normal(v) for k, v in oracle(records, lambda r: r["stage"], measure.get("field"), function).items()
    }
    assert got == expected


@pytest.mark.parametrize("unit", ["day", "week", "month", "quarter", "year"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_datetime_buckets_follow_the_time_zone(sales: Any, unit: str, zone: str) -> None:
    runtime, records = sales
    rows = run(runtime, {"dimensions": [{"field": "at", "bucket": unit}], "time_zone": zone})
    tz = ZoneInfo(zone)
    expected = oracle(
        records,
        lambda r: first_day(dt.datetime.fromisoformat(r["at"]).astimezone(tz).date(), unit),
        None,
        "count",
    )
    assert {row[f"at__{unit}"]: row["count"] for row in rows} == expected
    assert [row[f"at__{unit}"] for row in rows] == sorted(expected)


@pytest.mark.parametrize("unit", ["day", "week", "month", "quarter", "year"])
def test_date_buckets_and_two_dimensions(sales: Any, unit: str) -> None:
    runtime, records = sales
    rows = run(
        runtime,
        {
            "dimensions": ["paid", {"field": "day", "bucket": unit}],
            "measures": [{"function": "sum", "field": "amount"}],
        },
    )
    expected = oracle(
        records, lambda r: (r["paid"], first_day(dt.date.fromisoformat(r["day"]), unit)), "amount", "sum"
    )
    got = {(row["paid"], row[f"day__{unit}"]): normal(row["sum__amount"]) for row in rows}
    assert got == {k: normal(v) for k, v in expected.items()}


def test_filters_sort_and_top_n(sales: Any) -> None:
    runtime, records = sales
    rows = run(
        runtime,
        {
            "dimensions": ["stage"],
            "measures": [{"function": "count"}, {"function": "sum", "field": "qty"}],
            "filters": [{"field": "paid", "op": "eq", "value": True}],
            "sort": ["-sum__qty"],
            "limit": 2,
        },
    )
    paid = [r for r in records if r["paid"] is True]
    sums = oracle(paid, lambda r: r["stage"], "qty", "sum")
    best = sorted(sums.items(), key=lambda kv: kv[1] or 0, reverse=True)[:2]
    assert [(row["stage"], row["sum__qty"]) for row in rows] == best


def test_a_select_dimension_sorts_in_the_order_of_its_options(sales: Any) -> None:
    # Before: by code, so a funnel read lost, new, won; empty values came first on SQLite, last on PostgreSQL.
    runtime, _ = sales
    rows = run(runtime, {"dimensions": ["stage"], "measures": [{"function": "count"}]})
    assert [row["stage"] for row in rows] == ["new", "won", "lost", None]
    rows = run(runtime, {"dimensions": ["stage"], "measures": [{"function": "count"}], "sort": ["-stage"]})
    assert [row["stage"] for row in rows] == [None, "lost", "won", "new"]


def test_no_dimension_gives_one_total_row(sales: Any) -> None:
    runtime, records = sales
    rows = run(runtime, {"measures": [{"function": "count"}, {"function": "max", "field": "day"}]})
    assert rows == [
        {"count": len(records), "max__day": max(dt.date.fromisoformat(r["day"]) for r in records)}
    ]


@pytest.mark.parametrize(
    ("spec", "path", "words"),
    [
        ({"dimensions": ["title"]}, "report.dimensions[0]", "cannot be a dimension"),
        ({"dimensions": ["tags"]}, "report.dimensions[0]", "cannot be a dimension"),
        ({"dimensions": ["at"]}, "report.dimensions[0]", "needs a bucket"),
        ({"dimensions": [{"field": "stage", "bucket": "month"}]}, "report.dimensions[0]", "takes no bucket"),
        ({"dimensions": ["nope"]}, "report.dimensions[0]", "no field 'nope'"),
        ({"dimensions": ["stage", "paid", "owner"]}, "report.dimensions", "at most 2"),
        ({"measures": [{"function": "sum", "field": "stage"}]}, "report.measures[0]", "does not apply"),
        ({"measures": [{"function": "median", "field": "qty"}]}, "report.measures[0]", "function must be"),
        ({"measures": [{"function": "count", "field": "qty"}]}, "report.measures[0]", "takes no field"),
        ({"sort": ["qty"]}, "report.sort[0]", "sort by one of"),
        ({"limit": 0}, "report.limit", "1 to 1000"),
        ({"time_zone": "Mars/Base"}, "report.time_zone", "unknown time zone"),
        ({"filters": [{"field": "qty", "op": "gt", "value": "x"}]}, "report.filters[0]", ""),
    ],
)
def test_bad_reports_are_refused_with_the_path_of_each_problem(
    sales: Any, spec: dict[str, Any], path: str, words: str
) -> None:
    runtime, _records = sales
    with pytest.raises(BadQuery) as caught:
        parse_aggregate(runtime.model.entity("sale"), runtime.registry, spec)
    assert [p.path for p in caught.value.problems] == [path]
    assert words in caught.value.problems[0].message


def test_the_owner_and_the_owners_org_unit_are_dimensions(sales: Any) -> None:
    runtime, records = sales
    query = parse_aggregate(
        runtime.model.entity("sale"), runtime.registry, {"dimensions": ["owner", "org_unit"]}
    )
    rows = runtime.aggregate("sale", query).rows
    # Created by the system: no owner, no unit.
    assert rows == [{"owner": None, "org_unit": None, "count": len(records)}]
