"""Sending one outbox message: an HMAC-signed JSON POST (httpx), or a plain-text e-mail through smtplib."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from rule_engine.delivery.settings import SmtpSettings

SIGNATURE_HEADER = "X-CRM-Signature"
# Client errors that a later attempt can fix (timeouts, rate limits, conflicts); other 4xx are final.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did."""

    ok: bool
    retry: bool = True
    response_status: int | None = None
    error: str = ""


def canonical_body(body: Mapping[str, Any]) -> bytes:
    """Return the exact bytes POSTed (and signed) for a payload."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """Return the signature header value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post_webhook(
    url: str, body: Mapping[str, Any], secret: str | None, delivery_id: int, attempt: int, timeout: float
) -> Outcome:
    """POST the payload; 2xx is delivered, 5xx and network errors are retried, other 4xx are final."""
    data = canonical_body(body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "lowcode-crm-webhooks/1",
        "X-CRM-Delivery": str(delivery_id),
        "X-CRM-Attempt": str(attempt),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, data)
    try:
        # Streamed so the receiver's response body is never read; redirects are not followed
        # (a POST redirected elsewhere is not a delivery to this URL).
        with httpx.stream("POST", url, content=data, headers=headers, timeout=timeout) as response:
            status, reason = response.status_code, response.reason_phrase
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        return Outcome(False, True, None, f"{type(exc).__name__}: {exc}")
    if 200 <= status < 300:
        return Outcome(True, response_status=status)
    retry = status >= 500 or status in RETRYABLE_CLIENT_ERRORS
    return Outcome(False, retry, status, f"HTTP {status} {reason}")


def send_email(settings: SmtpSettings, to: str, subject: str, body: str) -> Outcome:
    """Send one plain-text e-mail; any SMTP or network error is retried."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body or "")
    client_class = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
    try:
        with client_class(settings.host, settings.port, timeout=settings.timeout) as client:
            if settings.starttls and not settings.use_ssl:
                client.starttls()
            if settings.username:
                client.login(settings.username, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, False, None, f"recipient refused: {exc.recipients}")
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, True, None, f"{type(exc).__name__}: {exc}")
    return Outcome(True)
