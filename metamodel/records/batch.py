"""Batch writes (imports): one savepoint per batch of records instead of one per step of every record.

In an optimistic batch the steps that would protect the caller's transaction with a savepoint of
their own (a constraint clash on insert, a trigger condition or action that may fail) run without
one; if such a step fails, ``SavepointNeeded`` unwinds to the batch writer, which rolls its batch
savepoint back and writes the records again one by one, each step with its savepoint as usual.
The outcome of every record is therefore the same as when it is written alone; only the round
trips of the savepoints are saved while nothing fails.  A batch also carries a cache of read-only
answers (rules switched off, link targets seen) that is dropped with every rollback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

_OPTIMISTIC = "crm_batch_optimistic"
_CACHE = "crm_batch_cache"


class SavepointNeeded(BaseException):
    """A step of an optimistic batch failed where it would have rolled back its own savepoint.

    A BaseException, so the ``except Exception`` handlers written for the savepoint case let it
    through to the batch writer instead of carrying on in a transaction left half-written.
    """


@contextmanager
def batch_scope(conn: Connection, *, optimistic: bool) -> Iterator[None]:
    """Mark ``conn`` as writing a batch (optimistic: without per-step savepoints) with a fresh cache."""
    prior = conn.info.get(_OPTIMISTIC), conn.info.get(_CACHE)
    conn.info[_OPTIMISTIC] = optimistic
    conn.info[_CACHE] = {}
    try:
        yield
    finally:
        conn.info[_OPTIMISTIC], conn.info[_CACHE] = prior


def is_optimistic(conn: Connection) -> bool:
    """Whether ``conn`` writes an optimistic batch (steps skip their own savepoints)."""
    return bool(conn.info.get(_OPTIMISTIC))


def batch_cache(conn: Connection) -> dict[str, Any] | None:
    """Return the cache of the batch ``conn`` writes (None outside a batch: nothing may be cached)."""
    cache = conn.info.get(_CACHE)
    return cache if isinstance(cache, dict) else None


@contextmanager
def protected(conn: Connection) -> Iterator[None]:
    """A savepoint around a step whose failure the caller handles; in an optimistic batch, a redo instead."""
    if not is_optimistic(conn):
        with conn.begin_nested():
            yield
        return
    try:
        yield
    except Exception as exc:
        raise SavepointNeeded(str(exc)) from exc
