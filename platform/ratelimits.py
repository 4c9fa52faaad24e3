"""API rate limits with Flask-Limiter: per token, signed-in user or address; in memory or in Redis.

The embedded single-process default counts in memory; several workers share counts through Redis
(``CRM_RATELIMIT_STORAGE=redis://127.0.0.1:6379``). Sign-in lockout is not here: it stays in the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse
from limits.strategies import FixedWindowRateLimiter

from crm_platform.auth import current
from crm_platform.contextobjects import real_request, request_globals
from crm_platform.i18n import t
from crm_platform.ratecounts import InlineMemoryStorage

# Integrations sync in bursts: hundreds of requests per second per token are normal use.
DEFAULT_LIMIT = "300/second"
ANONYMOUS_LIMIT = "30/second"  # per address: unknown tokens count here, which slows token guessing
EXPENSIVE_LIMIT = (
    "120/minute"  # bursts pass; exports, imports, reports, publishing: each call is a lot of work
)
# Routes (under the API prefix) whose calls are expensive; they count against both limits.
EXPENSIVE_SUFFIXES = (
    "/export",
    "/imports",
    "/dry-run",
    "/undo",
    "/reports/run",
    "/meta/publish",
    "/meta/rollback",
    "/meta/purge",
)
EXPENSIVE_PATHS = ("/packs/install", "/meta/dry-run")
_KIND = "crm_ratelimit_kind"
log = logging.getLogger(__name__)


def client_key() -> str:
    """Return what the request is counted against: its token, its signed-in user, else its address."""
    return _client(request_globals())[1]


def _client(state: Any) -> tuple[str, str]:
    # The request's kind of client and key, worked out once per request and kept in its globals.
    cached: tuple[str, str] | None = getattr(state, _KIND, None)
    if cached is not None:
        return cached
    user = current.user()  # runs the token loader, which sets the request's token
    token = current.api_token()
    if user.is_authenticated and token is not None:
        found = ("client", f"token:{token.token_id}")
    elif user.is_authenticated:
        found = ("client", f"user:{user.id}")
    else:
        found = ("anonymous", f"ip:{real_request().remote_addr or 'unknown'}")
    setattr(state, _KIND, found)
    return found


def _expensive_limit() -> str:
    return _limit_of("CRM_RATELIMIT_EXPENSIVE")


def _limit_of(setting: str) -> str:
    return _limit_in(current_app, setting)


def _limit_in(app: Flask, setting: str) -> str:
    value = str(app.config.get(setting) or "").strip()
    return value if value and value != "0" else "1000000/second"  # "0" or empty: no limit


def _off(setting: str) -> bool:
    return _off_in(current_app, setting)


def _off_in(app: Flask, setting: str) -> bool:
    value = str(app.config.get(setting) or "").strip()
    return not value or value == "0"


def _expensive_off() -> bool:
    return _off("CRM_RATELIMIT_EXPENSIVE")


def is_expensive(rule: str, prefix: str) -> bool:
    """Whether an API route (``rule`` under ``prefix``) gets the stricter per-route limit."""
    path = rule.removeprefix(prefix)
    return path.endswith(EXPENSIVE_SUFFIXES) or path in EXPENSIVE_PATHS


class RouteLimiter(Limiter):
    """Flask-Limiter for the per-route limits only (decorated views), without its per-request hooks.

    Its before-request hook resolves default and application limits, of which this app configures
    none (the per-client budget is counted in ``_check_client_budget``), yet it cost 5 % of a
    one-record GET. A decorated view checks its limits itself when it runs. Its after-request hook
    writes rate-limit headers, which are off, and deducts ``deduct_when`` limits, which ``limit``
    refuses here; its teardown resets state kept on the request context, which ends with the request.
    So none of the three is installed (together 6 % of a one-record GET, bench/api_edge.py).
    """

    def init_app(self, app: Flask) -> None:
        """Install as Flask-Limiter does, then take out its per-request hooks (see the class docstring)."""
        super().init_app(app)
        if self._headers_enabled:
            raise ValueError(
                "RouteLimiter sends no rate-limit headers (its after-request hook is not installed)"
            )
        hooks = (self._check_request_limit, partial(Limiter._Limiter__inject_headers, self))  # type: ignore[attr-defined]
        before, after = app.before_request_funcs, app.after_request_funcs
        before[None] = [f for f in before.get(None, []) if not _same_hook(f, hooks)]
        after[None] = [f for f in after.get(None, []) if not _same_hook(f, hooks)]
        release = self._Limiter__release_context  # type: ignore[attr-defined]
        app.teardown_request_funcs[None] = [
            f for f in app.teardown_request_funcs.get(None, []) if f != release
        ]

    def limit(self, limit_value: Any, **kwargs: Any) -> Any:
        """Flask-Limiter's decorator, without ``deduct_when`` (its after-request hook is not installed)."""
        if kwargs.get("deduct_when") is not None:
            raise ValueError("RouteLimiter does not deduct on the response (deduct_when)")
        return super().limit(limit_value, **kwargs)

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if not in_middleware:
            super()._check_request_limit(callable_name, in_middleware)


def _same_hook(func: Any, hooks: tuple[Any, ...]) -> bool:
    # Bound methods and partials are made anew on each access: equal, not identical.
    for hook in hooks:
        if isinstance(hook, partial):
            if isinstance(func, partial) and func.func is hook.func and func.args == hook.args:
                return True
        elif func == hook:
            return True
    return False


def init_app(app: Flask, bp: Blueprint) -> Limiter:
    """Limit every request of the API blueprint ``bp`` (already registered) and answer 429 in JSON."""
    for setting in ("CRM_RATELIMIT", "CRM_RATELIMIT_ANONYMOUS", "CRM_RATELIMIT_EXPENSIVE"):
        value = str(app.config.get(setting) or "0").strip()
        try:  # a mistyped limit stops the start, rather than silently limiting nothing
            _parsed("1/second" if value == "0" else value)
        except ValueError as exc:
            raise ValueError(f"{setting}={value!r} is not a rate limit like '300/second': {exc}") from None
    for setting in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META"):
        if app.config.get(setting):  # RouteLimiter would not apply them
            raise ValueError(f"{setting} is not used: set CRM_RATELIMIT, CRM_RATELIMIT_ANONYMOUS instead")
    storage = str(app.config.get("CRM_RATELIMIT_STORAGE") or "memory://")
    app.config["RATELIMIT_KEY_PREFIX"] = str(app.config.get("CRM_RATELIMIT_PREFIX") or "crm")
    limiter = RouteLimiter(
        client_key,
        app=app,
        storage_uri=storage,
        strategy="fixed-window",
        headers_enabled=False,  # 429 answers carry Retry-After (see _refusal)
        # A storage outage must not take the API down with it: counting goes on in memory meanwhile.
        in_memory_fallback_enabled=not storage.startswith("memory"),
    )
    # One budget for the whole API per client, not one per route. It is counted with the limiter's
    # own strategy and storage, but directly: Flask-Limiter's per-request resolution of decorated and
    # blueprint limits cost 13 % of a one-record GET (bench/api_edge.py).
    app.before_request(ClientBudget(app, bp.name, limiter).check)
    prefix = bp.url_prefix or ""
    expensive = limiter.limit(_expensive_limit, override_defaults=False, exempt_when=_expensive_off)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(f"{bp.name}.") and is_expensive(rule.rule, prefix):
            # This app's view is wrapped (the blueprint's own function stays as it is for other apps).
            view: Callable[..., Any] = app.view_functions[rule.endpoint]
            app.view_functions[rule.endpoint] = expensive(view)
    app.register_error_handler(RateLimitExceeded, _too_many)
    app.extensions["crm_limiter"] = limiter
    return limiter


class ClientBudget:
    """The API's per-client budget of one app, its limits read from the settings once, at start."""

    def __init__(self, app: Flask, blueprint: str, limiter: Limiter) -> None:
        self.blueprint = blueprint
        self.limiter = limiter
        # None: that kind of client is not limited ("0" or empty).
        self.limits = {
            kind: None if _off_in(app, setting) else _parsed(_limit_in(app, setting))
            for kind, setting in (("client", "CRM_RATELIMIT"), ("anonymous", "CRM_RATELIMIT_ANONYMOUS"))
        }
        # The site's prefix keeps sites (and test runs) that share one Redis apart.
        self.prefix = str(app.config["RATELIMIT_KEY_PREFIX"])
        # In memory, the budget counts in its own storage that starts no timer threads; with Redis it
        # goes through the limiter, which falls back to memory while Redis is down.
        storage = str(app.config.get("CRM_RATELIMIT_STORAGE") or "memory://")
        self.memory = FixedWindowRateLimiter(InlineMemoryStorage()) if storage.startswith("memory") else None

    def check(self) -> Response | None:
        """Count a request of the API blueprint against its client; 429 when the budget is spent."""
        blueprint = real_request().blueprint
        if not blueprint or blueprint.split(".")[0] != self.blueprint:
            return None
        kind, key = _client(request_globals())
        limit = self.limits[kind]
        if limit is None:
            return None
        counter = self.memory or self.limiter.limiter
        try:
            if counter.hit(limit, self.prefix, "api", key):
                return None
            reset_at = counter.get_window_stats(limit, self.prefix, "api", key).reset_time
        except Exception:  # the storage is down: serve rather than fail every request
            log.warning("rate-limit storage unavailable; request not counted", exc_info=True)
            return None
        return _refusal(str(limit), reset_at)


@cache
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


def _too_many(exc: RateLimitExceeded) -> Any:
    """Answer 429 with rate_limited, the limit, and Retry-After in seconds."""
    limiter: Limiter = current_app.extensions["crm_limiter"]
    current = limiter.current_limit
    reset_at = current.reset_at if current is not None else time.time() + 1
    return _refusal(str(exc.limit.limit), reset_at)


def _refusal(limit: str, reset_at: float) -> Response:
    retry = max(1, int(reset_at - time.time()))
    body = {
        "error": {
            "code": "rate_limited",
            "message": t("api.rate_limited", limit=limit, seconds=retry),
            "retry_after": retry,
            "limit": limit,
        }
    }
    response: Response = jsonify(body)
    response.status_code = 429
    response.headers["Retry-After"] = str(retry)
    return response
