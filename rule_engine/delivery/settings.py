"""Delivery settings from the app configuration (or the environment): SMTP server and webhook secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send e-mail; present only when CRM_SMTP_HOST is set."""

    host: str
    port: int = 25
    sender: str = "crm@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    timeout: float = 20.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings | None:
        """Read CRM_SMTP_HOST, _PORT, _FROM, _USER, _PASSWORD, _STARTTLS, _SSL; None without a host."""
        host = str(config.get("CRM_SMTP_HOST") or "").strip()
        if not host:
            return None
        return cls(
            host=host,
            port=int(config.get("CRM_SMTP_PORT") or 25),
            sender=str(config.get("CRM_SMTP_FROM") or "crm@localhost"),
            username=config.get("CRM_SMTP_USER") or None,
            password=config.get("CRM_SMTP_PASSWORD") or None,
            starttls=_flag(config.get("CRM_SMTP_STARTTLS")),
            use_ssl=_flag(config.get("CRM_SMTP_SSL")),
        )


def _flag(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def smtp_of(services: Mapping[str, Any]) -> SmtpSettings | None:
    """Return the SMTP settings among the rule engine services, if e-mail is configured."""
    found = services.get("smtp")
    return found if isinstance(found, SmtpSettings) else None


@dataclass(frozen=True)
class WebhookSecrets:
    """Named HMAC secrets: from CRM_WEBHOOK_SECRETS ("name=secret,..."), then CRM_WEBHOOK_SECRET[_NAME]."""

    secrets: Mapping[str, str]
    environ: Mapping[str, str]

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> WebhookSecrets:
        """Read the secrets; the environment is consulted at lookup time for names not configured."""
        raw = config.get("CRM_WEBHOOK_SECRETS") or {}
        if isinstance(raw, str):
            pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
            raw = {name.strip(): secret.strip() for name, secret in pairs}
        return cls(dict(raw), dict(os.environ if environ is None else environ))

    def get(self, name: str) -> str | None:
        """Return the secret called ``name`` ('default' is CRM_WEBHOOK_SECRET), or None."""
        if name in self.secrets:
            return self.secrets[name]
        variable = "CRM_WEBHOOK_SECRET" if name == "default" else f"CRM_WEBHOOK_SECRET_{name.upper()}"
        return self.environ.get(variable) or None
