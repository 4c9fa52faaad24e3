"""Benchmark of derived-value propagation: a child write moving its parent's roll-up, with and without a trigger.

``run(ctx)`` builds two sites alike but for one update trigger on the parent (it fires when the
parent's roll-up changes and creates a memo record), then times the same child creates, each of
which moves its parent's count and sum through the record runtime (a versioned, audited parent
update).  The figure is the ratio of the two medians; the target is at most 2x.
"""

from __future__ import annotations

import time
from typing import Any

from bench.core import Context, Figure, median, quiet_gc
from metamodel.audit.records import install_record_audit
from rule_engine.testing.world import World, entity, make_world

WRITES = 300
ROUNDS = 5
RATIO_TARGET = 2.0


def _bundle(with_trigger: bool) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "entity": {
            "member": entity(
                "member",
                [
                    {"name": "name", "type": "text"},
                    {
                        "name": "orders",
                        "type": "integer",
                        "rules": {"rollup": {"source": "purchase.member", "kind": "count"}},
                    },
                    {
                        "name": "spent",
                        "type": "currency",
                        "rules": {"rollup": {"source": "purchase.member", "kind": "sum", "field": "amount"}},
                    },
                ],
            ),
            "purchase": entity(
                "purchase",
                [
                    {"name": "member", "type": "link", "target": "member", "on_delete": "cascade"},
                    {"name": "amount", "type": "currency"},
                ],
            ),
            "memo": entity("memo", [{"name": "text", "type": "text"}]),
        }
    }
    if with_trigger:
        bundle["trigger"] = {
            "orders_moved": {
                "name": "orders_moved",
                "entity": "member",
                "event": "update",
                "changed_fields": ["orders"],
                "actions": [{"type": "create_record", "entity": "memo", "values": {"text": "moved"}}],
            }
        }
    return bundle


def _site(ctx: Context, name: str, with_trigger: bool) -> tuple[World, list[int]]:
    world = make_world(ctx.db_url(name), _bundle(with_trigger))
    install_record_audit(world.hooks)
    rt = world.runtime()
    members = [rt.create("member", {"name": f"m{i}"})["id"] for i in range(50)]
    return world, members


def _writes(world: World, members: list[int]) -> float:
    rt = world.runtime()
    started = time.perf_counter()
    for i in range(WRITES):
        rt.create("purchase", {"member": members[i % len(members)], "amount": "12.50"})
    return (time.perf_counter() - started) / WRITES


def run(ctx: Context) -> list[Figure]:
    """Time child writes moving a parent roll-up, with the parent's update trigger vs without one."""
    plain, plain_members = _site(ctx, "derived_plain", False)
    watched, watched_members = _site(ctx, "derived_trigger", True)
    ours, theirs = [], []
    with quiet_gc():
        for _ in range(ROUNDS):
            theirs.append(_writes(plain, plain_members))
            ours.append(_writes(watched, watched_members))
    fired = watched.count("memo")
    if fired != WRITES * ROUNDS:
        raise AssertionError(f"the trigger fired {fired} times, expected {WRITES * ROUNDS}")
    plain.db.dispose()
    watched.db.dispose()
    ratio = median(ours) / max(median(theirs), 1e-9)
    return [
        Figure(
            "derived.child_write_with_parent_trigger_vs_without", round(ratio, 2), "x", RATIO_TARGET, "<="
        ),
        Figure("derived.child_write_with_parent_trigger", round(median(ours) * 1000, 2), "ms"),
        Figure("derived.child_write_without_trigger", round(median(theirs) * 1000, 2), "ms"),
    ]
