"""A per-worker cache of API-token lookups, with a short lifetime and cleared on change.

Browser sessions are not cached: each request checks its server-side session row (sys_session), so
logout and revocation take effect at once.

Bound: a revoked token, a deactivated user or a changed password stops working at once in the worker
that made the change (any write to the user or token tables clears its cache) and within
``CRM_AUTH_CACHE_SECONDS`` (default 5 s) in every other worker. 0 turns caching off.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event

from crm_platform.auth import clock
from crm_platform.auth.apitokens import TokenUse, lookup_token
from metamodel.systables import api_tokens, users

DEFAULT_SECONDS = 5.0
MAX_ENTRIES = 10_000
# Writes that do not change who may sign in (a token's last-use time) say so and keep the cache.
KEEP_OPTION = "crm_auth_cache_keep"


class TtlCache:
    """A small thread-safe mapping whose entries live ``seconds``; cleared whole when full."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        """Return the live entry of ``key``, or None."""
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key`` for the cache's lifetime."""
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


_caches: WeakKeyDictionary[Engine, TtlCache] = WeakKeyDictionary()


def install(engine: Engine, seconds: float = DEFAULT_SECONDS) -> None:
    """Cache lookups on ``engine`` for ``seconds``, and clear the cache on writes to users or tokens."""
    if seconds <= 0 or engine in _caches:
        return
    cache = TtlCache(seconds)
    _caches[engine] = cache

    # A dialect event, not the engine's "after_execute": an engine event switches on SQLAlchemy's event
    # dispatch for every statement of every connection (6 % of a one-record GET, bench/api_edge.py).
    def _on_write(_cursor: Any, _statement: Any, _parameters: Any, context: Any) -> bool:
        if (context.isupdate or context.isdelete or context.isinsert) and context.compiled is not None:
            statement = context.compiled.statement
            if getattr(statement, "table", None) in (users, api_tokens):
                if not context.execution_options.get(KEEP_OPTION):
                    cache.clear()
        return False  # the dialect executes the statement as usual

    event.listen(engine, "do_execute", _on_write)
    event.listen(engine, "do_executemany", _on_write)


def forget(engine: Engine) -> None:
    """Clear the cache of ``engine`` (e.g. after a change made outside the ORM's statements)."""
    cache = _caches.get(engine)
    if cache is not None:
        cache.clear()


def token_use(engine: Engine, token: str) -> TokenUse | None:
    """Return ``lookup_token`` of ``token``, from the cache while it is fresh (expiry checked each time)."""
    cache = _caches.get(engine)
    if cache is None:
        return lookup_token(engine, token)
    key = "t:" + token
    use: TokenUse | None = cache.get(key)
    if use is None:
        use = lookup_token(engine, token)
        if use is not None:
            cache.put(key, use)
        return use
    expired = use.expires_at is not None and use.expires_at <= clock.now()
    return dataclasses.replace(use, expired=expired) if expired != use.expired else use
