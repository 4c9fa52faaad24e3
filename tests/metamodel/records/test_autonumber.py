"""Record numbers: pattern formatting, counters per entity and date period, and an injectable clock."""

from __future__ import annotations

import datetime as dt

import pytest

from metamodel.errors import RecordInvalid
from metamodel.records.autonumber import format_number, next_number, sequence_key
from metamodel.records.query import make_filter
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import sequences
from tests.metamodel.mmsupport import Site, entity

UTC = dt.UTC


def at(year: int, month: int = 1, day: int = 1, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


def test_format_number_fills_dates_and_pads_the_counter() -> None:
    now = dt.datetime(2026, 3, 7, 23, 59, tzinfo=UTC)
    assert format_number("WO-{YYYY}-{000000}", now, 42) == "WO-2026-000042"
    assert format_number("{YY}{MM}{DD}/{###}", now, 7) == "260307/007"
    assert format_number("T{0}", now, 1234) == "T1234"
    assert format_number("INV{00}", now, 123) == "INV123"  # wider than the padding: never cut
    assert sequence_key("e1", "WO-{YYYY}-{000000}", now) == "e1:WO-2026-000000"
    assert sequence_key("e1", "WO-{YYYY}-{000000}", at(2027)) != sequence_key("e1", "WO-{YYYY}-{000000}", now)
    assert sequence_key("e1", "WO-{000000}", now) == sequence_key("e1", "WO-{000000}", at(2030))


def numbered(pattern: str) -> list[dict[str, object]]:
    return [
        entity("invoice", [{"name": "title", "type": "text"}], autonumber=pattern),
        entity("ticket", [{"name": "title", "type": "text"}], autonumber="T-{0000}"),
        entity("note", [{"name": "title", "type": "text"}]),
    ]


def test_numbers_count_up_per_entity(site: Site) -> None:
    runtime = site.publish(numbered("INV-{YYYY}-{0000}"))
    assert [runtime.create("invoice", {})["record_no"] for _ in range(3)] == [
        "INV-2026-0001",
        "INV-2026-0002",
        "INV-2026-0003",
    ]
    assert runtime.create("ticket", {})["record_no"] == "T-0001"
    assert runtime.create("note", {})["record_no"] is None
    assert [r["record_no"] for r in site.rows("rec_invoice", "record_no")] == [
        "INV-2026-0001",
        "INV-2026-0002",
        "INV-2026-0003",
    ]
    # a record number cannot be set or changed by input
    record = runtime.update("invoice", 1, {"record_no": "HACK", "title": "x"})
    assert record["record_no"] == "INV-2026-0001"


def test_yearly_pattern_restarts_each_year_by_the_injected_clock(site: Site) -> None:
    runtime = site.publish(numbered("WO-{YYYY}-{000}"))
    site.clock.now = at(2026, 12, 31, 23)
    assert runtime.create("invoice", {})["record_no"] == "WO-2026-001"
    assert runtime.create("invoice", {})["record_no"] == "WO-2026-002"
    site.clock.now = at(2027, 1, 1, 0)
    assert runtime.create("invoice", {})["record_no"] == "WO-2027-001"
    assert runtime.create("invoice", {})["record_no"] == "WO-2027-002"
    site.clock.now = at(2026, 12, 31, 23)  # a late entry continues its own year's counter
    assert runtime.create("invoice", {})["record_no"] == "WO-2026-003"
    ticket = runtime.create("ticket", {})  # a pattern without dates never restarts
    assert ticket["record_no"] == "T-0001" and ticket["created_at"] == "2026-12-31T23:00:00Z"
    site.clock.now = at(2028)
    assert runtime.create("ticket", {})["record_no"] == "T-0002"


def test_monthly_and_daily_patterns(site: Site) -> None:
    runtime = site.publish(numbered("{YY}{MM}-{00}"))
    site.clock.now = at(2026, 1, 31)
    assert [runtime.create("invoice", {})["record_no"] for _ in range(2)] == ["2601-01", "2601-02"]
    site.clock.now = at(2026, 2, 1)
    assert runtime.create("invoice", {})["record_no"] == "2602-01"
    # a runtime built with its own clock numbers by that clock
    own = RecordRuntime(site.svc.model(), site.engine, clock=lambda: at(2030, 5, 6))
    assert own.create("invoice", {})["record_no"] == "3005-01"


def test_refused_records_use_no_number(site: Site) -> None:
    runtime = site.publish(numbered("N-{0000}"))
    assert runtime.create("invoice", {"title": "a"})["record_no"] == "N-0001"
    with pytest.raises(RecordInvalid):
        runtime.create("invoice", {"title": "two\nlines"})
    assert runtime.create("invoice", {"title": "b"})["record_no"] == "N-0002"
    with site.engine.connect() as conn, conn.begin() as transaction:
        runtime.create("invoice", {"title": "rolled back"}, conn=conn)
        transaction.rollback()
    assert runtime.create("invoice", {"title": "c"})["record_no"] == "N-0003"


def test_next_number_in_a_callers_transaction(site: Site) -> None:
    site.publish(numbered("X-{0}"))
    with site.engine.begin() as conn:
        assert [next_number(conn, "e1", "X-{0}", at(2026)) for _ in range(3)] == ["X-1", "X-2", "X-3"]
        assert next_number(conn, "e2", "X-{0}", at(2026)) == "X-1"
    with site.engine.connect() as conn:
        stored = {row.key: row.value for row in conn.execute(sequences.select())}
    assert stored == {"e1:X-0": 3, "e2:X-0": 1}


def test_a_new_pattern_starts_its_own_counter(site: Site) -> None:
    runtime = site.publish(numbered("A-{000}"))
    runtime.create("invoice", {})
    docs = site.draft_docs()
    docs["invoice"]["autonumber"] = "B-{000}"
    runtime = site.publish(list(docs.values()))
    assert runtime.create("invoice", {})["record_no"] == "B-001"
    assert [r["record_no"] for r in site.rows("rec_invoice", "record_no")] == ["A-001", "B-001"]


def test_record_numbers_are_titles_and_filterable(site: Site) -> None:
    runtime = site.publish(
        [
            *numbered("INV-{0000}")[:1],
            entity("payment", [{"name": "invoice", "type": "link", "target": "invoice"}]),
        ]
    )
    first = runtime.create("invoice", {})
    runtime.create("invoice", {})
    payment = runtime.create("payment", {"invoice": first["id"]})
    assert payment["_titles"] == {"invoice": "INV-0001"}
    model = runtime.model.entity("invoice")
    from metamodel.records.query import ListQuery

    query = ListQuery(
        [make_filter(model, site.registry, "record_no", "startswith", "INV-000")], sort="-record_no"
    )
    assert [r["record_no"] for r in runtime.list("invoice", query).items] == ["INV-0002", "INV-0001"]
