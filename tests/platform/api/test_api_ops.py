"""Operations over the API: the delivery log with retry now, and the scheduler's time rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from crm_platform.services import CrmServices
from rule_engine.delivery.worker import OutboxWorker
from rule_engine.tables import firings, outbox, outbox_attempts
from tests.platform.api.apisupport import Api, define_crm, paths_of

T0 = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)


def failed_webhook(engine: Engine, target: str = "https://hooks.example.com/crm") -> int:
    """Store a webhook that failed its last attempt, with its delivery log."""
    with engine.begin() as conn:
        message_id = int(
            conn.execute(
                outbox.insert().values(
                    kind="webhook",
                    rule="notify_erp",
                    target=target,
                    payload={"body": {"id": 1}},
                    status="failed",
                    attempts=2,
                    next_attempt_at=T0,
                    last_error="HTTP 503 Service Unavailable",
                    response_status=503,
                    created_at=T0,
                )
            ).inserted_primary_key[0]
        )
        for attempt, status in ((1, "retrying"), (2, "failed")):
            conn.execute(
                outbox_attempts.insert().values(
                    outbox_id=message_id,
                    attempt=attempt,
                    at=T0 + dt.timedelta(minutes=attempt),
                    status=status,
                    response_status=503,
                    error="HTTP 503 Service Unavailable",
                    duration_ms=40,
                )
            )
    return message_id


def test_only_administrators_see_operations(user: Api, anonymous: Api) -> None:
    """403 for normal users, 401 without credentials."""
    for method, path in (
        ("GET", "/deliveries"),
        ("GET", "/deliveries/1"),
        ("POST", "/deliveries/1/retry"),
        ("GET", "/scheduler"),
    ):
        assert user.call(method, path).status_code == 403, path
        assert anonymous.call(method, path).status_code == 401, path


def test_delivery_log_and_retry_now(admin: Api, api_svc: CrmServices) -> None:
    """The log shows status, attempts and the last error; retry now makes it due, and the worker sends it."""
    message_id = failed_webhook(api_svc.engine)
    listed = admin.ok("GET", "/deliveries?status=failed")
    assert listed["total"] == 1
    item: dict[str, Any] = listed["items"][0]
    assert (item["status"], item["attempts"], item["last_error"]) == (
        "failed",
        2,
        "HTTP 503 Service Unavailable",
    )
    assert admin.ok("GET", "/deliveries?status=delivered")["total"] == 0
    one = admin.ok("GET", f"/deliveries/{message_id}")
    assert [a["status"] for a in one["log"]] == ["retrying", "failed"]
    retried = admin.ok("POST", f"/deliveries/{message_id}/retry")
    assert retried["status"] == "pending" and retried["next_attempt_at"] is not None
    # The scheduler's worker takes it on its next run (here it fails again: nothing listens there).
    report = OutboxWorker(api_svc.engine, timeout=0.5).tick(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert report.delivered + report.retrying + report.failed == 1
    assert len(admin.ok("GET", f"/deliveries/{message_id}")["log"]) == 3
    with api_svc.engine.begin() as conn:
        conn.execute(outbox.update().values(status="delivered"))
    assert admin.post(f"/deliveries/{message_id}/retry").status_code == 409
    assert admin.post("/deliveries/999999/retry").status_code == 404
    bad = admin.get("/deliveries?status=lost&kind=fax")
    assert bad.status_code == 422 and paths_of(bad) == {"status", "kind"}


def test_scheduler_shows_next_due_last_run_and_failures(admin: Api, api_svc: CrmServices) -> None:
    """A cron rule's next slot, its watermark and its failed firings with the last error."""
    assert admin.ok("GET", "/scheduler")["items"] == []
    define_crm(admin)
    admin.define(
        "trigger",
        "daily_digest",
        {
            "name": "daily_digest",
            "entity": "company",
            "event": "time",
            "schedule": {"cron": "0 6 * * *"},
            "actions": [{"type": "notify", "to": ["owner"], "subject": "Digest"}],
        },
    )
    admin.publish("digest")
    with api_svc.engine.begin() as conn:
        conn.execute(
            firings.insert().values(
                rule="daily_digest",
                entity="company",
                record_id=0,
                due_key="2026-12-04T06:00:00Z",
                fired_at=T0,
                status="failed",
                detail="notify: no owner to tell",
                attempts=3,
            )
        )
    (row,) = admin.ok("GET", "/scheduler")["items"]
    assert row["rule"] == "daily_digest" and row["schedule"]["cron"] == "0 6 * * *"
    assert row["next_due"] is not None and row["next_due"].endswith("06:00:00Z")
    assert row["failures"] == 1 and row["last_error"] == "notify: no owner to tell"
    assert row["last_run"] is None
