"""Acceptance: time triggers configured purely as metadata, driven by an injectable clock (no sleeps)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rule_engine.tables import inbox
from rule_engine.testing.world import (
    T0,
    add_user,
    enter_state,
    entity,
    make_world,
    select_field,
)

CAR_DEALER: dict[str, Any] = {
    "entity": {
        "customer": entity(
            "customer",
            [
                {"name": "name", "type": "text", "required": True},
                {"name": "bought", "type": "boolean", "default": False},
            ],
            title_field="name",
        ),
        "test_drive": entity(
            "test_drive",
            [
                {"name": "customer", "type": "link", "target": "customer", "on_delete": "cascade"},
                {"name": "model", "type": "text"},
                {"name": "test_drive_at", "type": "datetime", "indexed": True},
            ],
            title_field="model",
        ),
        "task": entity(
            "task",
            [
                {"name": "title", "type": "text", "required": True},
                {"name": "test_drive", "type": "link", "target": "test_drive", "on_delete": "cascade"},
                {"name": "due_date", "type": "date"},
            ],
            title_field="title",
        ),
    },
    "trigger": {
        "test_drive_follow_up": {
            "name": "test_drive_follow_up",
            "entity": "test_drive",
            "event": "time",
            "label": {"en": "Follow up 72 hours after a test drive unless the customer bought"},
            "schedule": {"relative_to": "test_drive_at", "offset_hours": 72},
            "condition": "customer.bought == false",
            "actions": [
                {
                    "type": "create_record",
                    "entity": "task",
                    "link_field": "test_drive",
                    "values": {"title": {"expr": "model"}},
                }
            ],
        },
    },
}


def test_car_dealer_follow_up_72_hours_after_a_test_drive_unless_bought(db_url: str) -> None:
    world = make_world(db_url, CAR_DEALER)
    runtime = world.runtime()
    ann = runtime.create("customer", {"name": "Ann"})
    bob = runtime.create("customer", {"name": "Bob"})
    drive_at = T0 + dt.timedelta(hours=2)
    ann_drive = runtime.create(
        "test_drive", {"customer": ann["id"], "model": "Roadster", "test_drive_at": drive_at.isoformat()}
    )
    runtime.create(
        "test_drive", {"customer": bob["id"], "model": "Van", "test_drive_at": drive_at.isoformat()}
    )

    world.clock.advance(hours=2 + 71)
    assert world.run_due().fired == 0  # 71 hours after the drive: not yet
    runtime.update("customer", bob["id"], {"bought": True})  # Bob bought meanwhile
    world.clock.advance(hours=1)
    report = world.run_due()
    assert report.fired == 1
    tasks = world.rows(world.metadata.model().entity("task").table)
    assert [(t["title"], t["test_drive"], t["created_at"]) for t in tasks] == [
        ("Roadster", ann_drive["id"], drive_at + dt.timedelta(hours=72))
    ]
    world.clock.advance(days=3)
    assert world.run_due().fired == 0  # once only, and never for Bob
    assert world.count("task") == 1


ESCALATION: dict[str, Any] = {
    "entity": {
        "ticket": entity(
            "ticket",
            [
                {"name": "subject", "type": "text", "required": True},
                select_field("status", ["open", "escalated", "closed"], default="open"),
            ],
            title_field="subject",
        ),
    },
    "workflow": {
        "ticket_flow": {
            "name": "ticket_flow",
            "entity": "ticket",
            "state_field": "status",
            "states": [
                {"name": "open", "initial": True},
                {"name": "escalated"},
                {"name": "closed", "final": True},
            ],
            "transitions": [
                {"name": "escalate", "from": ["open"], "to": "escalated"},
                {"name": "close", "from": ["open", "escalated"], "to": "closed"},
            ],
        },
    },
    "trigger": {
        "escalate_unhandled": {
            "name": "escalate_unhandled",
            "entity": "ticket",
            "event": "time",
            "schedule": {"state": "open", "in_state_hours": 48},
            "actions": [
                {
                    "type": "assign_owner",
                    "mode": "least_loaded",
                    "team": "supervisors",
                    "open_condition": "status != 'closed'",
                },
                {
                    "type": "notify",
                    "to": ["owner", "role:support_lead"],
                    "subject": "Ticket {{ title }} unhandled for 48 hours",
                    "body": "Ticket #{{ record.id }} is still {{ record.status }} and is now yours.",
                },
            ],
        },
    },
}


def test_ticket_unhandled_for_48_hours_is_escalated_to_a_supervisor(db_url: str) -> None:
    world = make_world(db_url, ESCALATION)
    agent = add_user(world.db, "agent")
    sup = add_user(world.db, "sup", team_names=["supervisors"])
    lead = add_user(world.db, "lead", role_names=["support_lead"])
    runtime = world.runtime()
    handled = runtime.create("ticket", {"subject": "Handled", "owner_id": agent})
    forgotten = runtime.create("ticket", {"subject": "Forgotten", "owner_id": agent})
    for ticket in (handled, forgotten):
        enter_state(world, "ticket", ticket["id"], "status", "open", T0)
    world.clock.advance(hours=30)
    enter_state(world, "ticket", handled["id"], "status", "closed", world.clock())
    world.clock.advance(hours=17, minutes=59)
    assert world.run_due().fired == 0
    world.clock.advance(minutes=1)
    assert world.run_due().fired == 1
    assert runtime.get("ticket", forgotten["id"])["owner_id"] == sup
    assert runtime.get("ticket", handled["id"])["owner_id"] == agent
    messages = world.rows(inbox)
    assert sorted(m["user_id"] for m in messages) == sorted([sup, lead])
    assert messages[0]["subject"] == "Ticket Forgotten unhandled for 48 hours"
    assert messages[0]["body"] == f"Ticket #{forgotten['id']} is still open and is now yours."
    world.clock.advance(days=5)
    assert world.run_due().fired == 0  # still open, but the same stay in 'open' escalates once
