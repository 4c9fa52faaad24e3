"""Errors of the lead pool; each carries a translation key and its values, so the web layer can localise it."""

from __future__ import annotations

from typing import Any

from metamodel.errors import CrmError


class PoolError(CrmError):
    """A pool operation that cannot happen now (409); ``key`` and ``values`` name the message to translate."""

    code = "pool_conflict"
    status = 409

    def __init__(self, key: str, message: str, **values: Any) -> None:
        super().__init__(message, **values)
        self.key = key
        self.values = values


class NoPool(PoolError):
    """The entity has no pool."""

    code = "no_pool"
    status = 404


class AlreadyClaimed(PoolError):
    """Someone (maybe the caller) owns the record already."""

    code = "already_claimed"


class NotInPool(PoolError):
    """Release of a record nobody owns."""

    code = "not_claimed"


class ClaimLimitReached(PoolError):
    """The user holds as many claimed records as the pool allows."""

    code = "claim_limit_reached"
