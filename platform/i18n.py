"""User-interface strings in English and Simplified Chinese, and choosing the locale of a request."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from crm_platform.contextobjects import real_request

LOCALES = ("en", "zh-CN")
DEFAULT_LOCALE = "en"
_CATALOG_DIR = Path(__file__).parent / "translations"


@cache
def catalog(locale: str) -> dict[str, str]:
    """Return the message catalog of ``locale``."""
    text = (_CATALOG_DIR / f"{locale}.json").read_text("utf-8")
    messages: dict[str, str] = json.loads(text)
    return messages


def current_locale() -> str:
    """Return the locale of this request: ?lang=, then the lang cookie, the user's setting, the browser."""
    if not has_request_context():
        return DEFAULT_LOCALE
    cached = g.get("crm_locale")
    if cached:
        return str(cached)
    chosen = _match(request.args.get("lang")) or _match(request.cookies.get("lang"))
    if chosen is None and current_user and getattr(current_user, "is_authenticated", False):
        chosen = _match(getattr(current_user, "locale", None))
    if chosen is None:
        best = request.accept_languages.best_match(["en", "zh-CN", "zh"], default=DEFAULT_LOCALE)
        chosen = "zh-CN" if best in ("zh", "zh-CN") else "en"
    g.crm_locale = chosen
    return chosen


def _match(value: str | None) -> str | None:
    if not value:
        return None
    lowered = value.lower()
    if lowered.startswith("zh"):
        return "zh-CN"
    if lowered.startswith("en"):
        return "en"
    return None


def t(key: str, **values: Any) -> str:
    """Translate ``key`` into the request's locale, filling ``{name}`` placeholders."""
    return t_in(current_locale(), key, **values)


def t_in(locale: str, key: str, **values: Any) -> str:
    """Translate ``key`` into ``locale``, filling ``{name}`` placeholders."""
    text = catalog(locale).get(key) or catalog(DEFAULT_LOCALE).get(key) or key
    return text.format(**values) if values else text


def localized(labels: Any, fallback: str = "") -> str:
    """Return a metadata label (``{"en": ..., "zh-CN": ...}`` or a plain string) in the request's locale.

    The one helper for labels that packs and metadata carry: entity, field, option, state, transition.
    """
    if isinstance(labels, str):
        return labels or fallback
    if isinstance(labels, dict):
        return str(labels.get(current_locale()) or labels.get(DEFAULT_LOCALE) or fallback)
    return fallback


def init_app(app: Flask) -> None:
    """Expose ``t`` and the locale to templates and remember an explicit ?lang= in a cookie."""
    app.jinja_env.globals.update(t=t, current_locale=current_locale, localized=localized, LOCALES=LOCALES)

    @app.after_request
    def _remember_lang(response: Any) -> Any:
        # Most requests name no language: skip parsing their query string.
        req = real_request()
        chosen = _match(req.args.get("lang")) if b"lang=" in req.query_string else None
        if chosen:
            response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response
