"""The import job table: create a job from a file, plan it with options, queue, claim and report progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from metamodel.errors import Conflict, NotFound
from metamodel.imports.files import Table
from metamodel.imports.options import ImportOptions
from metamodel.imports.plan import FIRST_DATA_ROW, Unit, plan_units
from metamodel.imports.tables import import_jobs, import_units
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor
from metamodel.systables import users

COUNTS = ("created", "updated", "skipped", "failed")
# Statuses a job may be (re)planned in: before it runs, with or without a dry run (a background one
# still running is refused by the caller unless its worker went silent, see checks.check_running).
PLANNABLE = ("draft", "checking", "checked")
LEASE = dt.timedelta(seconds=60)  # a running job whose worker was silent this long is taken over
_INSERT_CHUNK = 1000


def create_job(
    conn: Connection, entity: str, table: Table, file_name: str, created_by: int | None, now: dt.datetime
) -> int:
    """Store an uploaded file as a draft job (one raw unit per row); returns its id."""
    result = conn.execute(
        insert(import_jobs).values(
            entity=entity,
            status="draft",
            options={},
            file_name=file_name[:255],
            encoding=table.encoding,
            headers=table.headers,
            total=len(table.rows),
            done=0,
            counts=dict.fromkeys(COUNTS, 0),
            created_by=created_by,
            created_at=now,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    job_id = int(key[0])
    raw = [
        {"job_id": job_id, "seq": i, "status": "raw", "rows": {"rows": [[i + FIRST_DATA_ROW, _cells(line)]]}}
        for i, line in enumerate(table.rows)
    ]
    for start in range(0, len(raw), _INSERT_CHUNK):
        conn.execute(insert(import_units), raw[start : start + _INSERT_CHUNK])
    return job_id


def _cells(line: list[str]) -> dict[str, str]:
    return {str(i): text for i, cell in enumerate(line) if (text := cell.strip())}


def job_row(conn: Connection, job_id: int, *, lock: bool = False) -> dict[str, Any]:
    """Return the job's row; NotFound when there is none."""
    statement = select(import_jobs).where(import_jobs.c.id == job_id)
    if lock:
        statement = statement.with_for_update()
    row = conn.execute(statement).mappings().first()
    if row is None:
        raise NotFound(f"import {job_id} does not exist")
    return dict(row)


def plan_job(conn: Connection, job_id: int, options: ImportOptions, model: EntityModel) -> list[Unit]:
    """Plan a draft job with ``options``: its units replace the previous plan; returns them."""
    job = job_row(conn, job_id, lock=True)
    if job["status"] not in PLANNABLE:
        raise Conflict(f"import {job_id} has already started")
    headers = list(job["headers"])
    table = _file_table(conn, job)
    units = plan_units(table, options, model)
    conn.execute(delete(import_units).where(import_units.c.job_id == job_id))
    # Cells are kept by column index, so the job can be planned again with other options.
    stored = [
        {
            "job_id": job_id,
            "seq": seq,
            "rows": {"rows": [[n, _by_index(headers, c)] for n, c in u.rows], "pick": u.pick},
            "status": "raw" if u.status == "pending" else u.status,
            "errors": u.errors or None,
        }
        for seq, u in enumerate(units)
    ]
    for start in range(0, len(stored), _INSERT_CHUNK):
        conn.execute(insert(import_units), stored[start : start + _INSERT_CHUNK])
    conn.execute(
        update(import_jobs)
        .where(import_jobs.c.id == job_id)
        .values(
            options=options.as_dict(),
            total=len(units),
            done=0,
            counts=dict.fromkeys(COUNTS, 0),
            status="draft",
            worker=None,  # a dry run of the previous plan still running drops its outcome
            message=None,
        )
    )
    return units


def _file_table(conn: Connection, job: dict[str, Any]) -> Table:
    # The rows in file order, whatever the previous plan grouped together.
    rows: list[tuple[int, list[str]]] = []
    width = len(job["headers"])
    for (data,) in conn.execute(select(import_units.c.rows).where(import_units.c.job_id == job["id"])):
        for number, cells in data["rows"]:
            rows.append((int(number), [str(cells.get(str(i), "")) for i in range(width)]))
    rows.sort(key=lambda item: item[0])
    return Table(list(job["headers"]), [line for _, line in rows], job["encoding"])


def _by_index(headers: list[str], cells: dict[str, str]) -> dict[str, str]:
    return {str(headers.index(h)): v for h, v in cells.items()}


def unit_cells(headers: list[str], data: dict[str, Any]) -> Unit:
    """Return a stored unit with its cells keyed by header again."""
    rows = [
        (int(n), {headers[int(i)]: str(v) for i, v in cells.items() if str(v) != ""})
        for n, cells in data["rows"]
    ]
    return Unit(rows, str(data.get("pick") or "first"))


def queue_job(conn: Connection, job_id: int, now: dt.datetime) -> None:
    """Hand a planned draft job to the workers."""
    job = job_row(conn, job_id, lock=True)
    if job["status"] not in ("draft", "checked") or not job["options"]:
        raise Conflict(f"import {job_id} cannot start: it is {job['status']} (run a dry run first)")
    conn.execute(
        update(import_units)
        .where(import_units.c.job_id == job_id, import_units.c.status == "raw")
        .values(status="pending")
    )
    skipped = conn.execute(
        select(func.count())
        .select_from(import_units)
        .where(import_units.c.job_id == job_id, import_units.c.status == "skipped")
    ).scalar_one()
    counts = {**dict.fromkeys(COUNTS, 0), "skipped": int(skipped)}
    conn.execute(
        update(import_jobs)
        .where(import_jobs.c.id == job_id)
        .values(
            status="queued",
            message=None,
            done=int(skipped),
            counts=counts,
            started_at=None,  # the rate shown is the run's, not its dry run's
            finished_at=None,
            heartbeat_at=None,
        )
    )


def claim_job(conn: Connection, worker: str, now: dt.datetime, job_id: int | None = None) -> int | None:
    """Take a queued job, or a running one whose worker went silent; returns its id (None: nothing to do)."""
    stale = now - LEASE
    claimable = or_(
        import_jobs.c.status == "queued",
        (import_jobs.c.status == "running") & (import_jobs.c.heartbeat_at < stale),
    )
    statement = select(import_jobs.c.id).where(claimable).order_by(import_jobs.c.id).limit(1)
    if job_id is not None:
        statement = statement.where(import_jobs.c.id == job_id)
    found = conn.execute(statement).scalar()
    if found is None:
        return None
    taken = conn.execute(
        update(import_jobs)
        .where(import_jobs.c.id == found, claimable)
        .values(
            status="running",
            worker=worker,
            heartbeat_at=now,
            started_at=func.coalesce(import_jobs.c.started_at, now),
        )
    )
    return int(found) if taken.rowcount == 1 else None


def actor_of(conn: Connection, user_id: int | None, now: dt.datetime) -> Actor:
    """Return the actor an import runs as: the user who started it."""
    if user_id is None:
        return Actor(now=now, origin="import")
    row = conn.execute(select(users.c.username, users.c.is_admin).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    return Actor(user_id, row.username, bool(row.is_admin), now, "import")


def progress(job: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Return the job as JSON-ready progress: counts, rows per second and the estimated time left."""
    done, total = int(job["done"]), int(job["total"])
    started = job["started_at"]
    rate = None
    eta = None
    if started is not None and done:
        end = job["finished_at"] or job["heartbeat_at"] or now
        seconds = max((end - started).total_seconds(), 0.001)
        rate = round(done / seconds, 1)
        busy = job["status"] in ("running", "checking")
        eta = round((total - done) / rate, 1) if busy and rate else 0.0
    return {
        "id": job["id"],
        "entity": job["entity"],
        "status": job["status"],
        "file_name": job["file_name"],
        "encoding": job["encoding"],
        "headers": job["headers"],
        "options": job["options"],
        "total": total,
        "done": done,
        "percent": round(100 * done / total, 1) if total else 100.0,
        "counts": job["counts"],
        "rows_per_second": rate,
        "eta_seconds": eta,
        "message": job["message"],
        "created_at": job["created_at"].isoformat(),
    }
