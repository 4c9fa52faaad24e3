"""The dry run of a large file as a background job: queued on the job row, run by the import worker.

A planned job of more than ``INLINE_UNITS`` units is not checked inside the web request: it waits
as ``checking`` until a worker claims it, which runs the same dry run (one transaction, rolled back)
and stores the outcome: the counts on the job, each unit's errors on its ledger row, status
``checked``.  A newer plan (the user changed the mapping) or another worker's claim makes the stored
outcome of an older check be dropped, so a report always belongs to the plan it checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from metamodel.imports.jobs import COUNTS, actor_of, job_row
from metamodel.imports.runner import Progress, check_units, report_of
from metamodel.imports.tables import import_jobs, import_units
from metamodel.records.runtime import RecordRuntime

INLINE_UNITS = 2000  # a dry run of up to this many records answers the request itself
# A check writes nothing until it ends (on SQLite it cannot even beat a heartbeat), so its claim is
# taken over only after a long silence: a worker that died mid-check.
CHECK_LEASE = dt.timedelta(minutes=10)
_UNIT_ERRORS = (
    update(import_units)
    .where(import_units.c.job_id == bindparam("b_job"), import_units.c.seq == bindparam("b_seq"))
    .values(errors=bindparam("b_errors"))
)


def queue_check(conn: Connection, job_id: int) -> None:
    """Hand a just planned job's dry run to the workers."""
    conn.execute(
        update(import_jobs)
        .where(import_jobs.c.id == job_id)
        .values(status="checking", worker=None, started_at=None, finished_at=None, heartbeat_at=None)
    )


def check_running(job: dict[str, Any], now: dt.datetime) -> bool:
    """Whether a worker holds the job's dry run and has not been silent past the lease."""
    beat = job["heartbeat_at"]
    return (
        job["status"] == "checking"
        and job["worker"] is not None
        and beat is not None
        and beat >= now - CHECK_LEASE
    )


def claim_check(conn: Connection, worker: str, now: dt.datetime) -> int | None:
    """Take a queued dry run (or one whose worker went silent); returns its job id (None: nothing to do)."""
    claimable = (import_jobs.c.status == "checking") & or_(
        import_jobs.c.worker.is_(None), import_jobs.c.heartbeat_at < now - CHECK_LEASE
    )
    found = conn.execute(
        select(import_jobs.c.id).where(claimable).order_by(import_jobs.c.id).limit(1)
    ).scalar()
    if found is None:
        return None
    taken = conn.execute(
        update(import_jobs)
        .where(import_jobs.c.id == found, claimable)
        .values(worker=worker, started_at=now, heartbeat_at=now, done=0, counts=dict.fromkeys(COUNTS, 0))
    )
    return int(found) if taken.rowcount == 1 else None


def beat(conn: Connection, job_id: int, worker: str, done: int, now: dt.datetime) -> None:
    """Record how many units a held dry run has checked (PostgreSQL: from a connection of its own)."""
    conn.execute(
        update(import_jobs)
        .where(import_jobs.c.id == job_id, import_jobs.c.worker == worker, import_jobs.c.status == "checking")
        .values(done=done, heartbeat_at=now)
    )


def run_check(
    runtime_of: Callable[[], RecordRuntime], job_id: int, worker: str, on_batch: Progress | None = None
) -> bool:
    """Run the claimed dry run of ``job_id`` and store its outcome; False when the job was re-planned or taken meanwhile."""
    runtime = runtime_of()
    with runtime.transaction() as conn:
        job = job_row(conn, job_id)
        actor = actor_of(conn, job["created_by"], runtime.clock())
    counts, by_seq, _ = check_units(runtime, job_id, actor, on_batch)
    with runtime.transaction(write=True) as conn:
        job = job_row(conn, job_id, lock=True)
        if job["status"] != "checking" or job["worker"] != worker:
            return False
        unit_errors = [{"b_job": job_id, "b_seq": seq, "b_errors": errors} for seq, errors in by_seq.items()]
        if unit_errors:
            conn.execute(_UNIT_ERRORS, unit_errors)
        now = runtime.clock()
        conn.execute(
            update(import_jobs)
            .where(import_jobs.c.id == job_id)
            .values(
                status="checked",
                counts=counts,
                done=job["total"],
                finished_at=now,
                heartbeat_at=now,
                worker=None,
            )
        )
    return True


def fail_check(conn: Connection, job_id: int, worker: str, message: str) -> None:
    """End a held dry run that could not run (e.g. the user lost the import permission): back to draft."""
    conn.execute(
        update(import_jobs)
        .where(import_jobs.c.id == job_id, import_jobs.c.worker == worker, import_jobs.c.status == "checking")
        .values(status="draft", worker=None, message=message)
    )


def stored_report(conn: Connection, job: dict[str, Any]) -> dict[str, Any]:
    """Return the report of a finished background dry run, as the inline dry run answers it."""
    errors = [
        error
        for (found,) in conn.execute(
            select(import_units.c.errors).where(
                import_units.c.job_id == job["id"], import_units.c.errors.is_not(None)
            )
        )
        for error in found or []
    ]
    return report_of(int(job["total"]), dict(job["counts"]), errors)
