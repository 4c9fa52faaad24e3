"""The signed-in user as the record runtime's actor, for the reporting modules (no API import)."""

from __future__ import annotations

from typing import cast

from flask_login import current_user

from metamodel.records.hooks import Actor


def actor() -> Actor:
    """Return the record-runtime actor of the signed-in user."""
    return cast(Actor, current_user.actor())
