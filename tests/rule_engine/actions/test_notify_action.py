"""notify: inbox rows for owner, users, roles and teams; sandboxed templates; e-mail through the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rule_engine.delivery.settings import SmtpSettings
from rule_engine.delivery.worker import OutboxWorker
from rule_engine.tables import action_log, inbox, outbox, outbox_attempts
from rule_engine.testing.servers import smtp_sink
from rule_engine.testing.world import T0, World, add_user, entity, make_world

ENTITY = {
    "issue": entity(
        "issue",
        [
            {"name": "subject", "type": "text"},
            {"name": "amount", "type": "decimal"},
            {"name": "due", "type": "date"},
        ],
        title_field="subject",
        label={"en": "Support case"},
    )
}


def world_with(db_url: str, notify: dict[str, Any], services: dict[str, Any] | None = None) -> World:
    trigger = {
        "name": "tell",
        "entity": "issue",
        "event": "create",
        "actions": [{"type": "notify", **notify}],
    }
    return make_world(db_url, {"entity": ENTITY, "trigger": {"tell": trigger}}, services=services)


def test_recipients_by_owner_user_role_and_team_are_deduplicated(db_url: str) -> None:
    world = world_with(db_url, {"to": ["owner", "user:bob", "role:lead", "team:desk"], "subject": "New case"})
    ann = add_user(world.db, "ann")
    bob = add_user(world.db, "bob", role_names=["lead"])
    cy = add_user(world.db, "cy", team_names=["desk"])
    add_user(world.db, "dan")
    world.runtime().create("issue", {"subject": "x", "owner_id": ann})
    assert sorted(m["user_id"] for m in world.rows(inbox)) == [ann, bob, cy]
    assert world.count(outbox) == 0  # no SMTP configured: in-app only


def test_templates_see_plain_record_values(db_url: str) -> None:
    world = world_with(
        db_url,
        {
            "to": ["user:ann"],
            "subject": "{{ entity_label }}: {{ title }} {{ record.missing_ok | default('-') }}",
            "body": "Amount {{ record.amount }} due {{ record.due }}{% if record.note %}!{% endif %} by {{ rule }}",
        },
    )
    add_user(world.db, "ann")
    world.runtime().create("issue", {"subject": "Leak", "amount": "12.50", "due": "2026-03-09"})
    [message] = world.rows(inbox)
    assert message["subject"] == "Support case: Leak -"
    assert message["body"] == "Amount 12.50 due 2026-03-09 by tell"
    assert (message["entity"], message["rule"]) == ("issue", "tell")


def test_templates_cannot_escape_the_sandbox(db_url: str) -> None:
    world = world_with(
        db_url,
        {
            "to": ["user:ann"],
            "subject": "[{{ record.__class__ }}]",
            "body": "{{ ''.__class__.__subclasses__() }}",
        },
    )
    add_user(world.db, "ann")
    world.runtime().create("issue", {"subject": "x"})
    assert world.count(inbox) == 0
    [failure] = world.rows(action_log, action_log.c.status == "failed")
    assert "template failed" in failure["message"] and "unsafe" in failure["message"]


def test_nobody_to_notify_is_a_failure_with_a_reason(db_url: str) -> None:
    world = world_with(db_url, {"to": ["role:nobody"], "subject": "x"})
    world.runtime().create("issue", {"subject": "x"})
    [failure] = world.rows(action_log, action_log.c.status == "failed")
    assert "matched no active user" in failure["message"]


def test_email_is_queued_inside_the_transaction_and_sent_after_commit(db_url: str) -> None:
    with smtp_sink() as (port, received):
        smtp = SmtpSettings(host="127.0.0.1", port=port, sender="crm@example.test", timeout=5)
        world = world_with(
            db_url,
            {"to": ["user:ann", "user:bob"], "subject": "Case {{ title }}", "body": "Hello"},
            services={"smtp": smtp},
        )
        add_user(world.db, "ann", email="ann@example.test")
        add_user(world.db, "bob")  # no address: inbox only
        world.runtime().create("issue", {"subject": "Leak"})
        assert world.count(inbox) == 2
        [queued] = world.rows(outbox)
        assert (queued["kind"], queued["target"], queued["status"]) == (
            "email",
            "ann@example.test",
            "pending",
        )
        assert received.items == []  # nothing is sent inside the transaction
        report = OutboxWorker(world.db, smtp=smtp).tick(T0)
    assert report.delivered == 1
    [mail] = received.items
    assert mail["to"] == ["<ann@example.test>"]
    assert "Subject: Case Leak" in mail["data"] and "Hello" in mail["data"]
    [sent] = world.rows(outbox)
    assert (sent["status"], sent["attempts"], sent["delivered_at"]) == ("delivered", 1, T0)


def test_email_delivery_is_retried_while_the_server_is_down(db_url: str) -> None:
    smtp = SmtpSettings(host="127.0.0.1", port=1, timeout=2)  # nothing listens on port 1
    world = world_with(db_url, {"to": ["user:ann"], "subject": "x"}, services={"smtp": smtp})
    add_user(world.db, "ann", email="ann@example.test")
    world.runtime().create("issue", {"subject": "x"})
    worker = OutboxWorker(world.db, smtp=smtp, base_delay=dt.timedelta(seconds=10))
    assert worker.tick(T0).retrying == 1
    [row] = world.rows(outbox)
    assert (row["status"], row["next_attempt_at"]) == ("pending", T0 + dt.timedelta(seconds=10))
    assert "Error" in world.rows(outbox_attempts)[0]["error"]
