"""Settings from environment variables, with safe defaults for a local start."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crm_platform.ratelimits import ANONYMOUS_LIMIT, DEFAULT_LIMIT, EXPENSIVE_LIMIT


def load_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return Flask config values read from ``CRM_*`` environment variables."""
    env = os.environ if env is None else env
    instance = Path(env.get("CRM_INSTANCE_DIR", "instance")).resolve()
    database_url = env.get("CRM_DATABASE_URL") or f"sqlite:///{instance / 'crm.db'}"
    secure = env.get("CRM_SECURE_COOKIES", "0").lower() in ("1", "true", "yes")
    return {
        "CRM_INSTANCE_DIR": str(instance),
        "CRM_DATABASE_URL": database_url,
        "CRM_ATTACHMENT_DIR": env.get("CRM_ATTACHMENT_DIR") or str(instance / "attachments"),
        "SECRET_KEY": env.get("CRM_SECRET_KEY") or _local_secret(instance),
        "MAX_CONTENT_LENGTH": int(env.get("CRM_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_PROTECTION": "strong",  # flask-login drops a session used from another address or browser
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=float(env.get("CRM_SESSION_HOURS", "12"))),
        "CRM_LOGIN_MAX_FAILURES": int(env.get("CRM_LOGIN_MAX_FAILURES", "5")),
        "CRM_LOGIN_IP_MAX_FAILURES": int(env.get("CRM_LOGIN_IP_MAX_FAILURES", "50")),
        "CRM_LOGIN_WINDOW_MINUTES": float(env.get("CRM_LOGIN_WINDOW_MINUTES", "15")),
        "CRM_LOGIN_LOCK_SECONDS": float(env.get("CRM_LOGIN_LOCK_SECONDS", "60")),
        "CRM_RATELIMIT": env.get("CRM_RATELIMIT", DEFAULT_LIMIT),
        "CRM_RATELIMIT_ANONYMOUS": env.get("CRM_RATELIMIT_ANONYMOUS", ANONYMOUS_LIMIT),
        "CRM_RATELIMIT_EXPENSIVE": env.get("CRM_RATELIMIT_EXPENSIVE", EXPENSIVE_LIMIT),
        "CRM_AUTH_CACHE_SECONDS": float(env.get("CRM_AUTH_CACHE_SECONDS", "5")),
        "CRM_RATELIMIT_STORAGE": env.get("CRM_RATELIMIT_STORAGE", "memory://"),
        # Sites sharing one Redis keep their counts apart by prefix.
        "CRM_RATELIMIT_PREFIX": env.get("CRM_RATELIMIT_PREFIX", "crm"),
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in one before_request, so token-authenticated API calls skip it
        "WTF_CSRF_TIME_LIMIT": None,
        "JSON_SORT_KEYS": False,
        "CRM_TRUSTED_PROXIES": int(env.get("CRM_TRUSTED_PROXIES", "0")),
        # Scripts only from files or with the page's nonce: no inline handlers (crm_platform.headers).
        "CRM_CSP_STRICT_SCRIPTS": env.get("CRM_CSP_STRICT_SCRIPTS", "0").lower() in ("1", "true", "yes"),
        "CRM_SCHEDULER": env.get("CRM_SCHEDULER", "app"),
        "CRM_SCHEDULER_INTERVAL": float(env.get("CRM_SCHEDULER_INTERVAL", "30")),
        # Staging and training sites only: lets `crm scheduler --once --at ISO-TIME` run at a chosen time.
        "CRM_SCHEDULER_ALLOW_AT": env.get("CRM_SCHEDULER_ALLOW_AT", "").lower() in ("1", "true", "yes"),
        # Consecutive failures after which a rule is switched off and the admins told (0: never).
        "CRM_RULE_DISABLE_AFTER": env.get("CRM_RULE_DISABLE_AFTER", "5"),
        "CRM_ACTION_PLUGINS": env.get("CRM_ACTION_PLUGINS", ""),
        "CRM_ENCRYPTION": env.get("CRM_ENCRYPTION", "on"),
        "CRM_ENCRYPTION_KEYS": env.get("CRM_ENCRYPTION_KEYS", ""),
        "CRM_SEARCH_HASH_KEY": env.get("CRM_SEARCH_HASH_KEY", ""),
        "CRM_SQL_ECHO": env.get("CRM_SQL_ECHO", "").lower() in ("1", "true", "yes"),
        "CRM_PLUGINS": env.get("CRM_PLUGINS"),  # None: every plugin found is enabled
        **{key: value for key, value in env.items() if key.startswith(("CRM_SMTP_", "CRM_WEBHOOK_SECRET"))},
    }


def _local_secret(instance: Path) -> str:
    # Without CRM_SECRET_KEY a random key is kept in the instance folder so sessions survive restarts.
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
