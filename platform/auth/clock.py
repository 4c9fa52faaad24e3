"""The current time for sign-in checks, in one place so tests can move it."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """Return the current time (UTC, timezone-aware)."""
    return dt.datetime.now(dt.UTC)
