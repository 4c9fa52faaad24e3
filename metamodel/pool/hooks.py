"""Registering the lead pool on the record runtime's hooks (called once, from the start-up place)."""

from __future__ import annotations

from metamodel.access.masks import STYLES, MaskStyles
from metamodel.pool.holdings import forget_deleted, track_owner
from metamodel.pool.view import PoolView
from metamodel.records.hooks import RecordHooks


def install_pool(hooks: RecordHooks, styles: MaskStyles = STYLES) -> RecordHooks:
    """Mask pool records' contact fields for pool users, guard their filters, sorts and searches, and
    track who holds pool records since when; returns the hooks."""
    view = PoolView(styles.apply)
    hooks.record_views.append(view.view)
    hooks.field_guards.append(view.guard)
    hooks.after_save.append(track_owner)
    hooks.after_delete.append(forget_deleted)
    return hooks
