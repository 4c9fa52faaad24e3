"""Registering the lead pool on the record runtime's hooks (called once, from the start-up place)."""

from __future__ import annotations

from metamodel.pool.holdings import track_owner
from metamodel.records.hooks import RecordHooks


def install_pool(hooks: RecordHooks) -> RecordHooks:
    """Track who holds pool records since when; returns the hooks."""
    hooks.after_save.append(track_owner)
    return hooks
