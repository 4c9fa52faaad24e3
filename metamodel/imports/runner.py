"""Running an import: the dry run (everything written, then rolled back) and the batches of a real run.

Each batch writes its units, their ledger rows and the job's counters in one transaction, so a
crash loses the batch as a whole and the resumed job writes every unit exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from metamodel.access import require
from metamodel.access.errors import AccessDenied
from metamodel.audit.log import write_for_actor
from metamodel.errors import CrmError
from metamodel.imports.jobs import COUNTS, actor_of, job_row, queue_job, unit_cells
from metamodel.imports.options import load_options
from metamodel.imports.tables import import_jobs, import_units
from metamodel.imports.writer import UnitWriter
from metamodel.records.hooks import Actor, triggers_skipped
from metamodel.records.runtime import RecordRuntime

BATCH = 200
MAX_REPORTED = 1000  # errors listed in a dry run's answer (the error report has them all)
# Each unit's outcome, written for the whole batch in one executemany.
_LEDGER = (
    update(import_units)
    .where(import_units.c.seq == bindparam("b_seq"))
    .values(
        status=bindparam("b_status"),
        record_id=bindparam("b_record_id"),
        before=bindparam("b_before"),
        version=bindparam("b_version"),
        errors=bindparam("b_errors"),
    )
)


@contextmanager
def _rolled_back(runtime: RecordRuntime) -> Iterator[Connection]:
    # SQLite: take the write lock up front, as the runtime's own write transactions do.
    with runtime.engine.connect().execution_options(sqlite_immediate=True) as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


Progress = Callable[[int], None]  # told the number of units checked after every batch


def dry_run(
    runtime: RecordRuntime, job_id: int, actor: Actor, on_batch: Progress | None = None
) -> dict[str, Any]:
    """Write every unit of a planned draft job as the real run would, then roll it all back; returns the report."""
    counts, by_seq, total = check_units(runtime, job_id, actor, on_batch)
    return report_of(total, counts, [e for errors in by_seq.values() for e in errors])


def report_of(total: int, counts: dict[str, int], errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a dry run's report: the counts and the first errors in file order."""
    errors = sorted(errors, key=lambda e: (int(e["row"]), str(e["column"])))
    return {"total": total, "counts": counts, "error_count": len(errors), "errors": errors[:MAX_REPORTED]}


def check_units(
    runtime: RecordRuntime, job_id: int, actor: Actor, on_batch: Progress | None = None
) -> tuple[dict[str, int], dict[int, list[dict[str, Any]]], int]:
    """Dry-run the job's units in one transaction rolled back; returns the counts, each unit's errors and the total."""
    counts = dict.fromkeys(COUNTS, 0)
    by_seq: dict[int, list[dict[str, Any]]] = {}
    with _rolled_back(runtime) as conn:
        job = job_row(conn, job_id)
        who = require(conn, runtime.resolve(actor, conn), job["entity"], "import")
        options = load_options(job["options"])
        writer = UnitWriter(runtime, job["entity"], options, who, conn)
        with triggers_skipped(conn) if options.skip_triggers else nullcontext():
            units = []
            for seq, status, data, stored_errors in conn.execute(
                select(import_units.c.seq, import_units.c.status, import_units.c.rows, import_units.c.errors)
                .where(import_units.c.job_id == job_id)
                .order_by(import_units.c.seq)
            ):
                if status == "skipped":
                    counts["skipped"] += 1
                    by_seq[seq] = stored_errors or []
                else:
                    units.append((seq, unit_cells(job["headers"], data)))
            checked = counts["skipped"]
            for start in range(0, len(units), BATCH):
                batch = units[start : start + BATCH]
                for (seq, _), outcome in zip(batch, writer.write_all([u for _, u in batch]), strict=True):
                    counts[outcome.status] += 1
                    if outcome.errors:
                        by_seq[seq] = outcome.errors
                checked += len(batch)
                if on_batch is not None:
                    on_batch(checked)
    return counts, by_seq, int(job["total"])


def start(runtime: RecordRuntime, job_id: int, actor: Actor) -> None:
    """Queue a planned job for the workers; skipping triggers needs an administrator and is audited."""
    with runtime.transaction(write=True) as conn:
        job = job_row(conn, job_id, lock=True)
        who = require(conn, runtime.resolve(actor, conn), job["entity"], "import")
        options = load_options(job["options"])
        if options.skip_triggers and not who.is_admin:
            raise AccessDenied(job["entity"], "import", "only an administrator may import without triggers")
        queue_job(conn, job_id, runtime.clock())
        note = " without triggers (migration)" if options.skip_triggers else ""
        write_for_actor(
            conn,
            "import.start",
            who,
            origin="import",
            entity=job["entity"],
            summary=f"started import {job_id} of {job['total']} {job['entity']} records{note}",
            changes={"job": job_id, "file": job["file_name"], "options": options.as_dict()},
        )


def run_batch(runtime: RecordRuntime, job_id: int, worker: str, size: int = BATCH) -> bool:
    """Write the next batch of a running job held by ``worker``; False when the job is finished or not held."""
    with runtime.transaction(write=True) as conn:
        job = job_row(conn, job_id, lock=True)
        if job["status"] != "running" or job["worker"] != worker:
            return False
        now = runtime.clock()
        pending = conn.execute(
            select(import_units.c.seq, import_units.c.rows)
            .where(import_units.c.job_id == job_id, import_units.c.status == "pending")
            .order_by(import_units.c.seq)
            .limit(size)
        ).all()
        if not pending:
            _finish(conn, job_id, "done", now, None)
            return False
        try:
            who = require(
                conn, runtime.resolve(actor_of(conn, job["created_by"], now), conn), job["entity"], "import"
            )
        except CrmError as exc:
            _finish(conn, job_id, "failed", now, exc.message)
            return False
        options = load_options(job["options"])
        writer = UnitWriter(runtime, job["entity"], options, who, conn)
        counts = dict(job["counts"])
        with triggers_skipped(conn) if options.skip_triggers else nullcontext():
            outcomes = writer.write_all([unit_cells(job["headers"], data) for _, data in pending])
        ledger = []
        for (seq, _), outcome in zip(pending, outcomes, strict=True):
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            ledger.append(
                {
                    "b_seq": seq,
                    "b_status": outcome.status,
                    "b_record_id": outcome.record_id,
                    "b_before": outcome.before,
                    "b_version": outcome.version,
                    "b_errors": outcome.errors or None,
                }
            )
        conn.execute(_LEDGER.where(import_units.c.job_id == job_id), ledger)
        conn.execute(
            update(import_jobs)
            .where(import_jobs.c.id == job_id)
            .values(done=import_jobs.c.done + len(pending), counts=counts, heartbeat_at=runtime.clock())
        )
    return True


def run_job(
    runtime_of: Callable[[], RecordRuntime],
    job_id: int,
    worker: str,
    on_batch: Callable[[], None] | None = None,
    size: int = BATCH,
) -> None:
    """Run batches of a claimed job until it is finished (a fresh runtime per batch follows metadata changes)."""
    while run_batch(runtime_of(), job_id, worker, size):
        if on_batch is not None:
            on_batch()


def _finish(conn: Connection, job_id: int, status: str, now: Any, message: str | None) -> None:
    conn.execute(
        update(import_jobs)
        .where(import_jobs.c.id == job_id)
        .values(status=status, finished_at=now, heartbeat_at=now, worker=None, message=message)
    )
