"""SchedulerService: a tick fires due triggers and delivers the outbox; it runs in the app or on its own."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from rule_engine.delivery.worker import OutboxWorker
from rule_engine.scheduler.service import SchedulerService
from rule_engine.tables import outbox
from rule_engine.testing.servers import http_receiver
from rule_engine.testing.world import T0, World, entity, make_world


def world_with(db_url: str, url: str = "http://127.0.0.1:1/x") -> World:
    return make_world(
        db_url,
        {
            "entity": {
                "lead": entity(
                    "lead", [{"name": "name", "type": "text"}, {"name": "met_at", "type": "datetime"}]
                ),
                "call": entity(
                    "call", [{"name": "lead", "type": "link", "target": "lead", "on_delete": "cascade"}]
                ),
            },
            "trigger": {
                "follow": {
                    "name": "follow",
                    "entity": "lead",
                    "event": "time",
                    "schedule": {"relative_to": "met_at", "offset_hours": 2},
                    "actions": [
                        {"type": "create_record", "entity": "call", "link_field": "lead"},
                        {"type": "webhook", "url": url},
                    ],
                }
            },
        },
    )


def service_for(world: World, **kwargs: Any) -> SchedulerService:
    return SchedulerService(
        world.db,
        world.metadata,
        world.rules,
        world.hooks,
        clock=world.clock,
        outbox=OutboxWorker(world.db, timeout=5),
        **kwargs,
    )


def test_a_tick_fires_what_is_due_and_delivers_it(db_url: str) -> None:
    with http_receiver() as (base, received):
        world = world_with(db_url, f"{base}/hook")
        world.runtime().create("lead", {"name": "Ann", "met_at": (T0 - dt.timedelta(hours=1)).isoformat()})
        service = service_for(world)
        assert service.tick()["firing"]["fired"] == 0
        world.clock.advance(hours=1)
        report = service.tick()
    assert report["firing"]["fired"] == 1 and report["delivery"]["delivered"] == 1
    assert world.count("call") == 1 and len(received.items) == 1
    assert world.rows(outbox)[0]["status"] == "delivered"


def test_run_forever_stops_when_asked(db_url: str) -> None:
    world = world_with(db_url)
    world.runtime().create("lead", {"name": "Ann", "met_at": (T0 - dt.timedelta(hours=3)).isoformat()})
    service = service_for(world, interval=3600)
    stop = threading.Event()
    done = threading.Event()
    original = service.tick

    def tick_then_stop() -> dict[str, Any]:
        try:
            return original()
        finally:
            stop.set()

    service.tick = tick_then_stop  # type: ignore[method-assign]

    def loop() -> None:
        service.run_forever(stop)
        done.set()

    thread = threading.Thread(target=loop)
    thread.start()
    assert done.wait(60)
    assert world.count("call") == 1


def test_background_scheduler_inside_the_app_ticks_and_shuts_down(db_url: str) -> None:
    world = world_with(db_url)
    world.runtime().create("lead", {"name": "Ann", "met_at": (T0 - dt.timedelta(hours=3)).isoformat()})
    service = service_for(world, interval=3600)
    ticked = threading.Event()
    original = service.tick

    def tick_and_tell() -> dict[str, Any]:
        try:
            return original()
        finally:
            ticked.set()

    service.tick = tick_and_tell  # type: ignore[method-assign]
    service.start()
    try:
        assert service.running
        assert ticked.wait(60)  # the first tick runs at start, the next in an hour
    finally:
        service.shutdown()
    assert not service.running
    assert world.count("call") == 1


def test_a_broken_tick_does_not_stop_the_loop(db_url: str) -> None:
    world = world_with(db_url)
    service = service_for(world)
    calls = []

    def broken() -> dict[str, Any]:
        calls.append(1)
        raise RuntimeError("database down")

    service.tick = broken  # type: ignore[method-assign]
    service._safe_tick()
    assert calls == [1]
