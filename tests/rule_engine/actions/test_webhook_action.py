"""Webhooks: queued in the transaction, POSTed after commit with an HMAC signature, retried with backoff."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from rule_engine.delivery.send import post_webhook, sign
from rule_engine.delivery.settings import WebhookSecrets
from rule_engine.delivery.worker import OutboxWorker
from rule_engine.tables import outbox, outbox_attempts
from rule_engine.testing.servers import http_receiver
from rule_engine.testing.world import T0, World, entity, make_world

SECRETS = WebhookSecrets.from_config(
    {"CRM_WEBHOOK_SECRETS": "erp=s3cret"}, environ={"CRM_WEBHOOK_SECRET": "dflt"}
)


def world_with(db_url: str, url: str, **extra: Any) -> World:
    trigger = {
        "name": "sync",
        "entity": "sale",
        "event": "create",
        "actions": [{"type": "webhook", "url": url, **extra}],
    }
    return make_world(
        db_url,
        {
            "entity": {
                "sale": entity(
                    "sale",
                    [
                        {"name": "ref", "type": "text"},
                        {"name": "total", "type": "decimal"},
                        {"name": "secret_note", "type": "text"},
                    ],
                    title_field="ref",
                )
            },
            "trigger": {"sync": trigger},
        },
    )


def worker(world: World, **kwargs: Any) -> OutboxWorker:
    return OutboxWorker(world.db, secrets=SECRETS, base_delay=dt.timedelta(seconds=30), timeout=5, **kwargs)


def test_payload_is_signed_with_hmac_sha256_of_the_body(db_url: str) -> None:
    with http_receiver() as (base, received):
        world = world_with(db_url, f"{base}/hooks/orders", secret="erp", fields=["ref", "total"])
        order = world.runtime().create("sale", {"ref": "SO-1", "total": "99.90", "secret_note": "internal"})
        assert received.items == []
        assert worker(world).tick(T0).delivered == 1
    [request] = received.items
    body = request["body"]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert request["headers"]["x-crm-signature"] == expected
    assert request["headers"]["content-type"] == "application/json"
    payload = json.loads(body)
    assert payload == {
        "rule": "sync",
        "event": "create",
        "entity": "sale",
        "fired_at": "2026-03-02T09:00:00Z",
        "record": {"id": order["id"], "ref": "SO-1", "total": "99.90"},
    }
    assert request["headers"]["x-crm-delivery"] == str(world.rows(outbox)[0]["id"])


def test_the_default_secret_comes_from_the_environment(db_url: str) -> None:
    with http_receiver() as (base, received):
        world = world_with(db_url, f"{base}/x")
        world.runtime().create("sale", {"ref": "SO-2"})
        worker(world).tick(T0)
    body = received.items[0]["body"]
    assert (
        received.items[0]["headers"]["x-crm-signature"]
        == "sha256=" + hmac.new(b"dflt", body, hashlib.sha256).hexdigest()
    )


def test_server_errors_are_retried_with_exponential_backoff_and_every_attempt_is_logged(db_url: str) -> None:
    with http_receiver(statuses=[500, 503, 200]) as (base, received):
        world = world_with(db_url, f"{base}/x")
        world.runtime().create("sale", {"ref": "SO-3"})
        hooks = worker(world)
        now = T0
        assert hooks.tick(now).retrying == 1
        assert world.rows(outbox)[0]["next_attempt_at"] == now + dt.timedelta(seconds=30)
        assert hooks.tick(now + dt.timedelta(seconds=29)).retrying == 0  # not due yet
        now += dt.timedelta(seconds=30)
        assert hooks.tick(now).retrying == 1
        assert world.rows(outbox)[0]["next_attempt_at"] == now + dt.timedelta(seconds=60)
        now += dt.timedelta(seconds=60)
        assert hooks.tick(now).delivered == 1
    assert len(received.items) == 3
    assert [r["headers"]["x-crm-attempt"] for r in received.items] == ["1", "2", "3"]
    attempts = world.rows(outbox_attempts)
    assert [(a["attempt"], a["status"], a["response_status"]) for a in attempts] == [
        (1, "retrying", 500),
        (2, "retrying", 503),
        (3, "delivered", 200),
    ]
    assert "HTTP 500" in attempts[0]["error"]
    [row] = world.rows(outbox)
    assert (row["status"], row["attempts"], row["response_status"], row["delivered_at"]) == (
        "delivered",
        3,
        200,
        now,
    )


def test_delivery_gives_up_after_the_last_attempt(db_url: str) -> None:
    with http_receiver(statuses=[502] * 10) as (base, received):
        world = world_with(db_url, f"{base}/x")
        world.runtime().create("sale", {"ref": "SO-4"})
        hooks = worker(world, max_attempts=3)
        now = T0
        for _ in range(5):
            hooks.tick(now)
            now += dt.timedelta(hours=1)
    assert len(received.items) == 3
    [row] = world.rows(outbox)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert [a["status"] for a in world.rows(outbox_attempts)] == ["retrying", "retrying", "failed"]


def test_client_errors_are_final_and_network_errors_are_retried(db_url: str) -> None:
    with http_receiver(statuses=[404]) as (base, _received):
        world = world_with(db_url, f"{base}/x")
        world.runtime().create("sale", {"ref": "SO-5"})
        assert worker(world).tick(T0).failed == 1
    world = world_with(
        db_url.replace("crm.db", "crm2.db") if "sqlite" in db_url else db_url, "http://127.0.0.1:1/x"
    )
    world.runtime().create("sale", {"ref": "SO-6"})
    report = worker(world).tick(T0)
    pending = [r for r in world.rows(outbox) if r["status"] == "pending"]
    assert report.retrying == 1 and pending and "Error" in pending[0]["last_error"]


def test_a_missing_named_secret_is_retried_not_sent_unsigned(db_url: str) -> None:
    with http_receiver() as (base, received):
        world = world_with(db_url, f"{base}/x", secret="unknown")
        world.runtime().create("sale", {"ref": "SO-7"})
        assert worker(world).tick(T0).retrying == 1
    assert received.items == []
    assert "no webhook secret 'unknown'" in world.rows(outbox)[0]["last_error"]


def test_two_workers_never_send_the_same_attempt(db_url: str) -> None:
    with http_receiver() as (base, received):
        world = world_with(db_url, f"{base}/x")
        for i in range(5):
            world.runtime().create("sale", {"ref": f"SO-{i}"})
        first, second = worker(world), worker(world)
        assert first.tick(T0).delivered == 5
        assert second.tick(T0).delivered == 0
    assert len(received.items) == 5


def test_each_answer_maps_to_delivered_retried_or_final() -> None:
    with http_receiver(statuses=[201, 302, 429, 410, 503]) as (base, received):
        outcomes = [post_webhook(f"{base}/hook", {"n": i}, "k", i, 1, 5) for i in range(5)]
    assert [(o.ok, o.retry, o.response_status) for o in outcomes] == [
        (True, True, 201),
        (False, False, 302),  # a redirect is not followed: the POST did not reach its receiver
        (False, True, 429),
        (False, False, 410),
        (False, True, 503),
    ]
    assert outcomes[4].error == "HTTP 503 Service Unavailable"
    assert [json.loads(r["body"]) for r in received.items] == [{"n": i} for i in range(5)]
    assert received.items[0]["headers"]["x-crm-signature"] == sign("k", received.items[0]["body"])
