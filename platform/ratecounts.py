"""In-memory fixed-window counts for the API's per-client budget, without a thread every 10 ms."""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SWEEP_SECONDS = 1.0


class InlineMemoryStorage(MemoryStorage):
    """limits' memory storage whose expired counters are dropped inline, at most once a second.

    ``MemoryStorage`` starts a ``threading.Timer`` whenever its previous one (10 ms) has finished, so
    at a few hundred requests a second every third request paid for starting a thread (about a sixth
    of a one-record GET, bench/api_edge.py). Counting is unchanged: ``get`` drops a counter whose
    window has ended before it is incremented, as the parent does; the sweep only frees memory.
    No ``STORAGE_SCHEME`` on purpose: the class is built by the app, not registered with limits.
    """

    def __init__(self) -> None:
        super().__init__()
        self._swept_at = time.time()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to the counter of ``key`` (a new window lasts ``expiry`` seconds); returns it."""
        now = time.time()
        if now - self._swept_at >= SWEEP_SECONDS:
            self._sweep(now)
        self.get(key)
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = now + expiry
        return self.storage.get(key, 0)

    def _sweep(self, now: float) -> None:
        # Counters of clients that stopped calling would otherwise stay until their key comes back.
        self._swept_at = now
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)
