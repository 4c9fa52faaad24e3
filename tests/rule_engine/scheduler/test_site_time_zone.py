"""Business time: today(), date anchors, cron rules and date buckets count in the site's time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from metamodel.records.aggregate import parse_aggregate
from metamodel.records.runtime import SYSTEM
from metamodel.reportdocs import report_query
from metamodel.sitesettings import read_settings, write_settings
from rule_engine.evaluation import shared_expressions
from rule_engine.testing.world import World, entity, make_world

SHANGHAI = "Asia/Shanghai"
# 17:30 UTC on 2 March is already 01:30 on 3 March in Shanghai.
NEAR_MIDNIGHT = dt.datetime(2026, 3, 2, 17, 30, tzinfo=dt.UTC)
NOTE = {"type": "set_fields", "values": {"note": "due"}}


def bundle(*triggers: dict[str, Any]) -> dict[str, Any]:
    fields = [
        {"name": "title", "type": "text"},
        {"name": "visit_on", "type": "date"},
        {"name": "stamped_on", "type": "date"},
        {"name": "visit_at", "type": "datetime"},
        {"name": "note", "type": "text"},
    ]
    return {
        "entity": {"visit": entity("visit", fields, title_field="title")},
        "trigger": {t["name"]: t for t in triggers},
    }


def in_shanghai(world: World) -> None:
    write_settings(world.db, {"time_zone": SHANGHAI}, "test")
    assert world.metadata.model().time_zone.key == SHANGHAI


def test_the_zone_defaults_to_utc_and_to_shanghai_on_a_zh_cn_site(db_url: str) -> None:
    world = make_world(db_url, bundle())
    assert world.metadata.model().time_zone.key == "UTC"
    write_settings(world.db, {"language": "zh-CN"}, "test")
    assert world.metadata.model().time_zone.key == SHANGHAI
    write_settings(world.db, {"time_zone": "Europe/Berlin"}, "test")
    assert world.metadata.model().time_zone.key == "Europe/Berlin"
    write_settings(world.db, {"time_zone": ""}, "test")  # back to the language's default
    with world.db.connect() as conn:
        settings = read_settings(conn)
    assert (settings.language, settings.time_zone, settings.explicit) == ("zh-CN", SHANGHAI, {"language"})


def test_today_near_midnight_utc_is_the_local_date(db_url: str) -> None:
    world = make_world(db_url, bundle(), now=NEAR_MIDNIGHT)
    expressions = shared_expressions(world.rules.functions)

    def today() -> Any:
        with world.db.connect() as conn:
            return expressions.evaluate(world.metadata.model(), "visit", "today()", conn, {}, NEAR_MIDNIGHT)

    assert today() == dt.date(2026, 3, 2)  # a UTC site
    in_shanghai(world)
    assert today() == dt.date(2026, 3, 3)


def test_a_create_trigger_stamps_the_local_date(db_url: str) -> None:
    stamp = {
        "name": "stamp",
        "entity": "visit",
        "event": "create",
        "actions": [{"type": "set_fields", "values": {"stamped_on": {"expr": "today()"}}}],
    }
    world = make_world(db_url, bundle(stamp), now=NEAR_MIDNIGHT)
    in_shanghai(world)
    created = world.runtime().create("visit", {"title": "late"})
    assert world.runtime().get("visit", created["id"])["stamped_on"] == "2026-03-03"


def test_a_condition_on_today_in_sql_uses_the_local_date(db_url: str) -> None:
    world = make_world(db_url, bundle(), now=NEAR_MIDNIGHT)
    in_shanghai(world)
    runtime = world.runtime()
    local = runtime.create("visit", {"title": "local", "visit_on": "2026-03-03"})["id"]
    runtime.create("visit", {"title": "utc", "visit_on": "2026-03-02"})
    site = world.metadata.model()
    condition = shared_expressions(world.rules.functions).to_sql(
        site, "visit", "visit_on == today()", NEAR_MIDNIGHT
    )
    assert condition is not None
    table = site.entity("visit").table
    with world.db.connect() as conn:
        assert [row.id for row in conn.execute(table.select().where(condition))] == [local]


def test_three_days_after_a_date_fires_at_local_midnight(db_url: str) -> None:
    after = {
        "name": "after3",
        "entity": "visit",
        "event": "time",
        "schedule": {"relative_to": "visit_on", "offset_hours": 72},
        "actions": [NOTE],
    }
    # Local midnight of 4 March in Shanghai is 16:00 UTC on 3 March.
    world = make_world(db_url, bundle(after), now=dt.datetime(2026, 3, 3, 15, 59, tzinfo=dt.UTC))
    in_shanghai(world)
    record = world.runtime().create("visit", {"title": "v", "visit_on": "2026-03-01"})["id"]
    assert world.run_due().fired == 0
    world.clock.advance(minutes=1)
    assert world.run_due().fired == 1
    assert world.runtime().get("visit", record)["note"] == "due"
    # On a UTC site the same record would only come due at 00:00 UTC on 4 March.
    assert [row["due_key"] for row in world.ledger("after3")] == ["2026-03-04T00:00:00Z"]
    assert world.run_due().fired == 0


def test_three_days_after_a_date_waits_for_utc_midnight_on_a_utc_site(db_url: str) -> None:
    after = {
        "name": "after3",
        "entity": "visit",
        "event": "time",
        "schedule": {"relative_to": "visit_on", "offset_hours": 72},
        "actions": [NOTE],
    }
    world = make_world(db_url, bundle(after), now=dt.datetime(2026, 3, 3, 16, 0, tzinfo=dt.UTC))
    world.runtime().create("visit", {"title": "v", "visit_on": "2026-03-01"})
    assert world.run_due().fired == 0
    world.clock.now = dt.datetime(2026, 3, 4, 0, 0, tzinfo=dt.UTC)
    assert world.run_due().fired == 1


def daily_digest() -> dict[str, Any]:
    return {
        "name": "daily",
        "entity": "visit",
        "event": "time",
        "schedule": {"cron": "0 9 * * *", "each_record": False, "lookback_hours": 1},
        "actions": [{"type": "create_record", "entity": "visit", "values": {"title": "digest"}}],
    }


def test_a_daily_nine_oclock_cron_fires_at_nine_in_shanghai(db_url: str) -> None:
    world = make_world(db_url, bundle(daily_digest()), now=dt.datetime(2026, 3, 2, 0, 59, tzinfo=dt.UTC))
    in_shanghai(world)
    assert world.run_due().fired == 0
    world.clock.now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    assert world.run_due().fired == 1
    assert [row["due_key"] for row in world.ledger("daily")] == ["2026-03-02T01:00:00Z"]


def test_a_cron_rule_with_its_own_zone_keeps_it(db_url: str) -> None:
    digest = daily_digest()
    digest["schedule"]["timezone"] = "UTC"
    world = make_world(db_url, bundle(digest), now=dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    in_shanghai(world)
    assert world.run_due().fired == 0
    world.clock.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    assert world.run_due().fired == 1


def test_date_buckets_default_to_the_site_zone(db_url: str) -> None:
    world = make_world(db_url, bundle())
    in_shanghai(world)
    runtime = world.runtime()
    runtime.create("visit", {"title": "a", "visit_at": "2026-03-02T17:30:00Z"})  # 3 March in Shanghai
    site = world.metadata.model()
    spec: dict[str, Any] = {"dimensions": [{"field": "visit_at", "bucket": "day"}]}
    doc: dict[str, object] = {
        "name": "per_day",
        "entity": "visit",
        "query": spec,
    }
    query = report_query(site, doc)
    assert query.time_zone == SHANGHAI
    rows = runtime.aggregate("visit", query, runtime_actor()).rows
    assert [(row["visit_at__day"], row["count"]) for row in rows] == [("2026-03-03", 1)]
    utc = parse_aggregate(site.entity("visit"), site.registry, {**spec, "time_zone": "UTC"})
    assert [row["visit_at__day"] for row in runtime.aggregate("visit", utc, runtime_actor()).rows] == [
        "2026-03-02"
    ]


def runtime_actor() -> Any:
    return SYSTEM
