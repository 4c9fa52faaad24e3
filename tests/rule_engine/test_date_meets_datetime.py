"""A date meets a datetime at midnight in the site's time zone, not at UTC midnight: in Python (both
backends), in formulas and in the SQL a condition compiles to."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from metamodel.sitesettings import write_settings
from rule_engine.evaluation import shared_expressions
from rule_engine.expressions.operations import LOCAL_ZONE
from rule_engine.testing.world import World, entity, make_world

# 17:30 UTC on 2 March is 01:30 on 3 March in Shanghai: after local midnight of 3 March (16:00 UTC),
# before UTC midnight of 3 March.
NOW = dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.UTC)
AT = "2026-03-02T17:30:00Z"


def bundle() -> dict[str, Any]:
    fields: list[dict[str, Any]] = [
        {"name": "title", "type": "text"},
        {"name": "visit_on", "type": "date"},
        {"name": "visit_at", "type": "datetime"},
        {"name": "on_or_after", "type": "boolean", "rules": {"formula": "visit_at >= visit_on"}},
    ]
    return {"entity": {"visit": entity("visit", fields, title_field="title")}}


def evaluate(world: World, text: str, record: dict[str, Any]) -> Any:
    with world.db.connect() as conn:
        return shared_expressions(world.rules.functions).evaluate(
            world.metadata.model(), "visit", text, conn, record, NOW
        )


@pytest.mark.parametrize(
    ("zone", "expected"), [("UTC", False), ("Asia/Shanghai", True), ("America/New_York", False)]
)
def test_a_date_meets_a_datetime_at_local_midnight(db_url: str, zone: str, expected: bool) -> None:
    world = make_world(db_url, bundle(), now=NOW)
    write_settings(world.db, {"time_zone": zone}, "test")
    record = {"visit_on": "2026-03-03", "visit_at": AT}
    assert evaluate(world, "visit_at >= visit_on", record) is expected
    assert evaluate(world, "visit_on <= visit_at", record) is expected
    assert evaluate(world, "visit_at < visit_on", record) is not expected
    midnight = {"visit_on": "2026-03-03", "visit_at": "2026-03-02T16:00:00Z"}  # Shanghai's midnight
    assert evaluate(world, "visit_at == visit_on", midnight) is (zone == "Asia/Shanghai")
    assert LOCAL_ZONE.get() == dt.UTC  # nothing leaks out of the evaluation


def test_a_formula_comparing_them_counts_in_the_site_zone(db_url: str) -> None:
    world = make_world(db_url, bundle(), now=NOW)
    write_settings(world.db, {"time_zone": "Asia/Shanghai"}, "test")
    created = world.runtime().create("visit", {"title": "v", "visit_on": "2026-03-03", "visit_at": AT})
    assert world.runtime().get("visit", created["id"])["on_or_after"] is True
    write_settings(world.db, {"time_zone": "UTC"}, "test")
    updated = world.runtime().update("visit", created["id"], {"title": "w"})
    assert updated["on_or_after"] is False


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_sql_conditions_agree_with_python(db_url: str, zone: str) -> None:
    world = make_world(db_url, bundle(), now=NOW)
    write_settings(world.db, {"time_zone": zone}, "test")
    runtime = world.runtime()
    moments = [
        "2026-03-02T15:59:00Z",
        "2026-03-02T16:00:00Z",
        AT,
        "2026-03-03T00:00:00Z",
        "2026-03-03T08:00:00Z",
    ]
    ids = {
        runtime.create("visit", {"title": m, "visit_at": m, "visit_on": "2026-03-02"})["id"]: m
        for m in moments
    }
    site = world.metadata.model()
    expressions = shared_expressions(world.rules.functions)
    table = site.entity("visit").table
    for text in (
        "visit_at >= today()",
        "visit_at < today()",
        "today() <= visit_at",
        "visit_at == today()",
        "visit_on < now()",
    ):
        condition = expressions.to_sql(site, "visit", text, NOW)
        wanted = sorted(
            i for i, m in ids.items() if evaluate(world, text, {"visit_at": m, "visit_on": "2026-03-02"})
        )
        if condition is None:
            continue  # computed in Python: the same evaluate as above
        with world.db.connect() as conn:
            found = sorted(row.id for row in conn.execute(table.select().where(condition)))
        assert found == wanted, (zone, text)
    # today() at NOW is 2 March in UTC (all five are on or after its midnight) and 3 March in Shanghai
    # (local midnight is 16:00 UTC on 2 March: four are).
    condition = expressions.to_sql(site, "visit", "visit_at >= today()", NOW)
    assert condition is not None
    with world.db.connect() as conn:
        later = [row.id for row in conn.execute(table.select().where(condition))]
    assert len(later) == {"UTC": 5, "Asia/Shanghai": 4}[zone]


def test_a_formula_added_by_a_publish_is_backfilled_in_the_site_zone(db_url: str) -> None:
    plain = bundle()
    plain["entity"]["visit"]["fields"] = [
        f for f in plain["entity"]["visit"]["fields"] if f["name"] != "on_or_after"
    ]
    world = make_world(db_url, plain, now=NOW)
    write_settings(world.db, {"time_zone": "Asia/Shanghai"}, "test")
    created = world.runtime().create("visit", {"title": "v", "visit_on": "2026-03-03", "visit_at": AT})
    world.publish(bundle())  # adds on_or_after: the existing record is computed at publish
    assert world.runtime().get("visit", created["id"])["on_or_after"] is True
