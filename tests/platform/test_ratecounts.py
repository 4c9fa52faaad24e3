"""The in-memory per-client budget: fixed windows counted inline, no timer thread per request."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from crm_platform.ratecounts import SWEEP_SECONDS, InlineMemoryStorage
from tests.platform.test_ratelimits import limited_app, statuses, token_client


def test_a_window_counts_and_ends() -> None:
    """Counts add up within a window; after it ends the count starts again at the amount."""
    storage = InlineMemoryStorage()
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("short", 0.05) == 1
    time.sleep(0.06)
    assert storage.incr("short", 60) == 1
    assert storage.get("k") == 3


def test_ended_windows_are_swept_from_memory() -> None:
    """Keys of clients that stopped calling are dropped by a later call, at most once per sweep period."""
    storage = InlineMemoryStorage()
    storage.incr("gone", 0.01)
    storage._swept_at -= SWEEP_SECONDS  # as if the last sweep was a period ago
    time.sleep(0.02)
    storage.incr("here", 60)
    assert "gone" not in storage.storage and "gone" not in storage.expirations
    assert storage.get("here") == 1


def test_api_calls_start_no_threads(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting an API call starts no thread (limits' MemoryStorage started a Timer every 10 ms)."""
    app = limited_app(db_url, tmp_path, CRM_RATELIMIT="100/minute")
    started: list[threading.Thread] = []
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread)
        real_start(thread)

    try:
        api = token_client(app, "gil")
        statuses(api, 1)
        monkeypatch.setattr(threading.Thread, "start", counting_start)
        for _ in range(5):
            time.sleep(0.02)  # longer than MemoryStorage's 10 ms timer
            assert statuses(api, 1) == [200]
        assert started == []
    finally:
        app.extensions["crm"].engine.dispose()
