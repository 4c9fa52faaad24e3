"""The import tables: one job per uploaded file, one ledger row per record (unit) it writes."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from metamodel.coltypes import UTCDateTime
from metamodel.systables import system_metadata

import_jobs = Table(
    "sys_import_job",
    system_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entity", String(80), nullable=False),
    # draft | queued | running | done | failed | undone
    Column("status", String(20), nullable=False),
    Column("options", JSON, nullable=False),  # mapping, mode, keys, duplicates, skip_triggers ...
    Column("file_name", String(255), nullable=False, default=""),
    Column("encoding", String(40)),
    Column("headers", JSON, nullable=False),
    Column("total", Integer, nullable=False, default=0),  # records to write (units)
    Column("done", Integer, nullable=False, default=0),
    Column("counts", JSON, nullable=False),  # {created, updated, skipped, failed}
    Column("created_by", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    # The worker holding the job and when it last committed a batch: a stale lease is taken over.
    Column("worker", String(64)),
    Column("heartbeat_at", UTCDateTime),
    Column("message", Text),
)

# Each unit (a record, with the child lines of the rows sharing its parent key) is written, and its
# ledger row updated, in the same transaction: a resumed job skips what is done, undo reads it back.
import_units = Table(
    "sys_import_unit",
    system_metadata,
    Column("job_id", BigInteger, ForeignKey("sys_import_job.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("rows", JSON, nullable=False),  # [[row number, {column: cell}], ...]
    # pending | created | updated | skipped | failed | undone
    Column("status", String(12), nullable=False),
    Column("record_id", BigInteger),
    Column("before", JSON),  # an update's previous values, restored by undo
    Column("version", Integer),  # the record's lock_version after the write: undo checks it
    Column("errors", JSON),  # [{row, column, message}]
    Index("ix_sys_import_unit_status", "job_id", "status", "seq"),
)
