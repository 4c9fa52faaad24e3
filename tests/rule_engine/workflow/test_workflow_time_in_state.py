"""Time-in-state triggers driven by real transitions: the history's current row is the anchor."""

from __future__ import annotations

from tests.rule_engine.workflow.wfsupport import bundle, pipeline

STALE = {
    "name": "stale_open",
    "entity": "deal",
    "event": "time",
    "schedule": {"state": "open", "in_state_hours": 48},
    "actions": [
        {
            "type": "create_record",
            "entity": "note",
            "link_field": "deal",
            "values": {"text": {"expr": "title"}},
        }
    ],
}


def test_48_hours_in_open_fires_once_per_stay(db_url: str) -> None:
    p = pipeline(db_url, bundle(trigger={"stale_open": STALE}))
    quiet = p.deal(title="quiet")["id"]
    busy = p.deal(title="busy")["id"]
    done = p.deal(title="done")["id"]
    for deal in (quiet, busy, done):
        p.take(deal, "publish")
    p.world.clock.advance(hours=10)
    p.take(busy, "pause")
    p.world.clock.advance(hours=10)
    p.take(busy, "publish")  # back in open at T0 + 20h: a new stay
    p.take(done, "win", values={"reason": "r"})
    assert p.notes() == ["Won: done"]
    p.world.clock.advance(hours=27, minutes=59)
    assert p.world.run_due().fired == 0
    p.world.clock.advance(minutes=1)  # T0 + 48h
    assert p.world.run_due().fired == 1
    assert p.notes() == ["Won: done", "quiet"]
    p.world.clock.advance(hours=19, minutes=59)
    assert p.world.run_due().fired == 0
    p.world.clock.advance(minutes=1)  # T0 + 68h
    assert p.world.run_due().fired == 1
    p.world.clock.advance(hours=50)
    assert p.world.run_due().fired == 0  # still open, but each stay fires once
    assert p.notes() == ["Won: done", "quiet", "busy"]
