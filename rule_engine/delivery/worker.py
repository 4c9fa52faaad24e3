"""The outbox delivery worker: claims due messages, sends them outside any transaction, logs each attempt.

Delivery is at least once: a worker that dies after sending but before recording the result sends the
message again once its claim (a lease on ``next_attempt_at``) expires.  Receivers de-duplicate webhooks
by the ``X-CRM-Delivery`` header (the outbox id).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, update

from rule_engine.delivery.send import Outcome, post_webhook, send_email
from rule_engine.delivery.settings import SmtpSettings, WebhookSecrets
from rule_engine.tables import outbox, outbox_attempts

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What one worker tick did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
            "errors": self.errors,
        }


@dataclass
class OutboxWorker:
    """Sends due outbox messages; retries with exponential backoff up to ``max_attempts``."""

    db: Engine
    smtp: SmtpSettings | None = None
    secrets: WebhookSecrets = field(default_factory=lambda: WebhookSecrets.from_config({}))
    max_attempts: int = 6
    base_delay: dt.timedelta = dt.timedelta(seconds=30)
    lease: dt.timedelta = dt.timedelta(minutes=5)
    timeout: float = 10.0
    batch: int = 100

    def backoff(self, attempt: int) -> dt.timedelta:
        """Return the wait after failed attempt number ``attempt`` (base, 2x, 4x, ...)."""
        factor: int = 2 ** max(0, attempt - 1)
        return self.base_delay * factor

    def tick(self, now: dt.datetime) -> DeliveryReport:
        """Deliver every message due at ``now`` (one batch)."""
        report = DeliveryReport()
        with self.db.connect() as conn:
            due = conn.execute(
                select(outbox.c.id, outbox.c.attempts)
                .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
                .order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(self.batch)
            ).all()
        for message_id, attempts in due:
            self._deliver_one(int(message_id), int(attempts), now, report)
        return report

    def _deliver_one(self, message_id: int, attempts: int, now: dt.datetime, report: DeliveryReport) -> None:
        attempt = attempts + 1
        with self.db.begin() as conn:
            claimed = conn.execute(
                update(outbox)
                .where(outbox.c.id == message_id, outbox.c.status == "pending", outbox.c.attempts == attempts)
                .values(attempts=attempt, next_attempt_at=now + self.lease)
            ).rowcount
            row = conn.execute(select(outbox).where(outbox.c.id == message_id)).mappings().first()
        if claimed != 1 or row is None:
            return  # another worker has it
        started = time.monotonic()
        try:
            outcome = self._send(row, attempt)
        except Exception as exc:  # a bug must not stop the other deliveries
            log.exception("outbox %s: delivery crashed", message_id)
            outcome = Outcome(False, True, None, f"{type(exc).__name__}: {exc}")
        duration = int((time.monotonic() - started) * 1000)
        status = (
            "delivered"
            if outcome.ok
            else ("pending" if outcome.retry and attempt < self.max_attempts else "failed")
        )
        values: dict[str, Any] = {
            "status": status,
            "last_error": outcome.error[:2000],
            "response_status": outcome.response_status,
            "next_attempt_at": now + self.backoff(attempt) if status == "pending" else now,
        }
        if outcome.ok:
            values["delivered_at"] = now
        with self.db.begin() as conn:
            conn.execute(
                update(outbox).where(outbox.c.id == message_id, outbox.c.attempts == attempt).values(values)
            )
            conn.execute(
                outbox_attempts.insert().values(
                    outbox_id=message_id,
                    attempt=attempt,
                    at=now,
                    status={"pending": "retrying"}.get(status, status),
                    response_status=outcome.response_status,
                    error=outcome.error[:2000],
                    duration_ms=duration,
                )
            )
        if outcome.ok:
            report.delivered += 1
        elif status == "pending":
            report.retrying += 1
        else:
            report.failed += 1
            report.errors.append(f"outbox {message_id}: {outcome.error}")

    def _send(self, row: Any, attempt: int) -> Outcome:
        payload = row["payload"] or {}
        if row["kind"] == "webhook":
            secret_name = str(payload.get("secret") or "default")
            secret = self.secrets.get(secret_name)
            if secret is None and secret_name != "default":
                return Outcome(False, True, None, f"no webhook secret '{secret_name}' is configured")
            return post_webhook(
                row["target"], payload.get("body") or {}, secret, int(row["id"]), attempt, self.timeout
            )
        if row["kind"] == "email":
            if self.smtp is None:
                return Outcome(False, True, None, "e-mail is not configured (CRM_SMTP_HOST)")
            return send_email(
                self.smtp, row["target"], str(payload.get("subject", "")), str(payload.get("body", ""))
            )
        return Outcome(False, False, None, f"unknown outbox kind '{row['kind']}'")
