"""Undoing an import: delete what it created and restore what it updated, unless changed since."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from metamodel.access import require
from metamodel.errors import Conflict, CrmError
from metamodel.imports.jobs import job_row
from metamodel.imports.tables import import_jobs, import_units
from metamodel.records.hooks import Actor
from metamodel.records.runtime import RecordRuntime

_BATCH = 500


def undo(runtime: RecordRuntime, job_id: int, actor: Actor) -> dict[str, Any]:
    """Undo a finished import in batches; returns {deleted, restored, changed: [...], failed: [...]}."""
    report: dict[str, Any] = {"deleted": 0, "restored": 0, "changed": [], "failed": []}
    with runtime.transaction() as conn:
        job = job_row(conn, job_id)
        if job["status"] not in ("done", "failed", "undone"):
            raise Conflict(f"import {job_id} cannot be undone while it is {job['status']}")
    last = -1
    while True:
        with runtime.transaction(write=True) as conn:
            who = require(conn, runtime.resolve(actor, conn), job["entity"], "import")
            units = conn.execute(
                select(import_units.c.seq, import_units.c.status, import_units.c.record_id)
                .add_columns(import_units.c.before, import_units.c.version)
                .where(
                    import_units.c.job_id == job_id,
                    import_units.c.status.in_(("created", "updated")),
                    import_units.c.seq > last,
                )
                .order_by(import_units.c.seq)
                .limit(_BATCH)
            ).all()
            if not units:
                conn.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(status="undone"))
                return report
            for seq, status, record_id, before, version in units:
                last = seq
                problem = _undo_one(runtime, conn, job["entity"], status, record_id, before, version, who)
                if problem is None:
                    report["deleted" if status == "created" else "restored"] += 1
                    conn.execute(
                        update(import_units)
                        .where(import_units.c.job_id == job_id, import_units.c.seq == seq)
                        .values(status="undone")
                    )
                else:
                    report[problem[0]].append({"record_id": record_id, "message": problem[1]})


def _undo_one(
    runtime: RecordRuntime,
    conn: Any,
    entity: str,
    status: str,
    record_id: int,
    before: dict[str, Any] | None,
    version: int | None,
    who: Actor,
) -> tuple[str, str] | None:
    try:
        with conn.begin_nested():
            if status == "created":
                runtime.delete(entity, record_id, who, expected_version=version, conn=conn)
            else:
                runtime.update(entity, record_id, before or {}, who, expected_version=version, conn=conn)
    except Conflict:
        return "changed", f"{entity} #{record_id} was changed since the import: left as it is"
    except CrmError as exc:
        return "failed", exc.message
    return None
