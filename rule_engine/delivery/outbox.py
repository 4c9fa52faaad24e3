"""Queueing messages in the outbox inside the firing's transaction; the worker sends them after commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from rule_engine.tables import outbox


def enqueue(
    conn: Connection, kind: str, rule: str | None, target: str, payload: Mapping[str, Any], now: dt.datetime
) -> int:
    """Insert a pending outbox message due now; returns its id."""
    result = conn.execute(
        outbox.insert().values(
            kind=kind,
            rule=rule,
            target=target,
            payload=dict(payload),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            last_error="",
            created_at=now,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def enqueue_email(
    conn: Connection, rule: str | None, to: str, subject: str, body: str, now: dt.datetime
) -> int:
    """Queue one plain-text e-mail."""
    return enqueue(conn, "email", rule, to, {"subject": subject, "body": body}, now)


def enqueue_webhook(
    conn: Connection, rule: str | None, url: str, body: Mapping[str, Any], secret: str, now: dt.datetime
) -> int:
    """Queue one JSON POST; ``secret`` names the HMAC key, resolved at delivery (never stored)."""
    return enqueue(conn, "webhook", rule, url, {"body": dict(body), "secret": secret}, now)
