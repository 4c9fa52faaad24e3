"""Batch writes (imports): one savepoint per batch of records instead of one per step of every record.

In an optimistic batch the steps that would protect the caller's transaction with a savepoint of
their own (a constraint clash on insert, a trigger condition or action that may fail) run without
one; if such a step fails, ``SavepointNeeded`` unwinds to the batch writer, which rolls its batch
savepoint back and writes the records again one by one, each step with its savepoint as usual.
The outcome of every record is therefore the same as when it is written alone; only the round
trips of the savepoints are saved while nothing fails.  A batch also carries a cache of read-only
answers (rules switched off, link targets seen) that is dropped with every rollback, and the log
rows (audit entries, action log) its records wrote: inserted with one executemany per statement when
the batch's records are all written, still inside the batch's savepoint, and dropped with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Executable

_OPTIMISTIC = "crm_batch_optimistic"
_CACHE = "crm_batch_cache"
_DEFERRED = "crm_batch_deferred"


class SavepointNeeded(BaseException):
    """A step of an optimistic batch failed where it would have rolled back its own savepoint.

    A BaseException, so the ``except Exception`` handlers written for the savepoint case let it
    through to the batch writer instead of carrying on in a transaction left half-written.
    """


@contextmanager
def batch_scope(conn: Connection, *, optimistic: bool) -> Iterator[None]:
    """Mark ``conn`` as writing a batch (optimistic: without per-step savepoints) with a fresh cache."""
    prior = conn.info.get(_OPTIMISTIC), conn.info.get(_CACHE), conn.info.get(_DEFERRED)
    conn.info[_OPTIMISTIC] = optimistic
    conn.info[_CACHE] = {}
    # Only an optimistic batch defers: its failures unwind to a redo, so no failure is logged in between.
    conn.info[_DEFERRED] = [] if optimistic else None
    try:
        yield
        flush_deferred(conn)
    finally:
        conn.info[_OPTIMISTIC], conn.info[_CACHE], conn.info[_DEFERRED] = prior


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


def defer_insert(conn: Connection, statement: Executable, params: dict[str, Any]) -> None:
    """Run a log row's INSERT now, or with the batch's other rows at its end in an optimistic batch."""
    pending = conn.info.get(_DEFERRED)
    if isinstance(pending, list):
        pending.append((statement, params))
    else:
        conn.execute(statement, params)


def flush_deferred(conn: Connection) -> None:
    """Insert the rows deferred so far: one executemany per statement, each table's rows in their order.

    Writers of the same tables that do not defer call this first, so the rows keep the order of events.
    """
    pending = conn.info.get(_DEFERRED)
    if not pending:
        return
    by_statement: dict[int, tuple[Executable, list[dict[str, Any]]]] = {}
    for statement, params in pending:
        by_statement.setdefault(id(statement), (statement, []))[1].append(params)
    pending.clear()
    for statement, rows in by_statement.values():
        conn.execute(statement, rows)
