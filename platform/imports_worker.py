"""The import worker: a thread of the scheduler process (or of the app in the embedded default) running import jobs.

Jobs wait in the database (sys_import_job), so any number of workers on SQLite or PostgreSQL share
them; a job whose worker died is taken over once its lease runs out and resumes where it stopped.
The worker also runs the dry runs of large files (metamodel.imports.checks) before any import.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

from crm_platform.services import CrmServices
from metamodel.database import write_transaction
from metamodel.errors import CrmError
from metamodel.imports.checks import beat, claim_check, fail_check, run_check
from metamodel.imports.jobs import claim_job
from metamodel.imports.runner import BATCH, run_job

log = logging.getLogger(__name__)
EXTENSION = "crm.imports"
# The progress of the dry runs this process is running, by job id. A dry run writes nothing until
# it ends and on SQLite holds the write lock meanwhile, so its progress is told here (and, on
# PostgreSQL, also on the job row from a connection of its own, for the other processes).
_LIVE: dict[int, dict[str, Any]] = {}
_LIVE_LOCK = threading.Lock()


def live_progress(job_id: int) -> dict[str, Any] | None:
    """Return the progress of a dry run running in this process (done, started_at, heartbeat_at), if any."""
    with _LIVE_LOCK:
        found = _LIVE.get(job_id)
        return dict(found) if found else None


class ImportWorker:
    """Claims queued (or abandoned) import jobs and runs them batch by batch."""

    def __init__(self, svc: CrmServices, interval: float = 5.0, batch: int = BATCH) -> None:
        self.svc = svc
        self.interval = interval
        self.batch = batch
        self.name = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_pending(self, job_id: int | None = None) -> int:
        """Run every dry run and job there is to run now (or just job ``job_id``); returns how many were run."""
        ran = self.run_checks() if job_id is None else 0
        while not self._stop.is_set():
            with write_transaction(self.svc.engine) as conn:
                claimed = claim_job(conn, self.name, self.svc.clock(), job_id)
            if claimed is None:
                return ran
            log.info("import %s: running on %s", claimed, self.name)
            run_job(self.svc.runtime, claimed, self.name, size=self.batch)
            ran += 1
        return ran

    def run_checks(self) -> int:
        """Run every queued dry run (of large files); returns how many were run."""
        ran = 0
        while not self._stop.is_set():
            with write_transaction(self.svc.engine) as conn:
                claimed = claim_check(conn, self.name, self.svc.clock())
            if claimed is None:
                return ran
            log.info("import %s: dry run on %s", claimed, self.name)
            try:
                run_check(self.svc.runtime, claimed, self.name, self._progress(claimed))
            except CrmError as exc:  # e.g. the user lost the import permission: the page shows why
                self._fail_check(claimed, exc.message)
            except Exception:  # the user may plan again at once instead of waiting out the lease
                log.exception("import %s: the dry run failed", claimed)
                self._fail_check(claimed, "the dry run failed; see the server log")
            finally:
                with _LIVE_LOCK:
                    _LIVE.pop(claimed, None)
            ran += 1
        return ran

    def _fail_check(self, job_id: int, message: str) -> None:
        with write_transaction(self.svc.engine) as conn:
            fail_check(conn, job_id, self.name, message)

    def _progress(self, job_id: int) -> Callable[[int], None]:
        started = self.svc.clock()
        shared = self.svc.engine.dialect.name != "sqlite"

        def told(done: int) -> None:
            now = self.svc.clock()
            with _LIVE_LOCK:
                _LIVE[job_id] = {"done": done, "started_at": started, "heartbeat_at": now}
            if shared:
                with write_transaction(self.svc.engine) as conn:
                    beat(conn, job_id, self.name, done, now)

        told(0)
        return told

    def kick(self) -> None:
        """Look for work now instead of at the next interval."""
        self._wake.set()

    def start(self) -> None:
        """Run on a daemon thread until ``stop``."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="crm-imports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after the batch it is writing."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
            except Exception:  # the worker must survive a bad job or a database outage
                log.exception("import worker failed")
            self._wake.wait(self.interval)
            self._wake.clear()


def start_worker(app: Flask) -> ImportWorker:
    """Start the import worker of the app's services and attach it to the app."""
    worker = ImportWorker(app.extensions["crm"])
    worker.start()
    app.extensions[EXTENSION] = worker
    return worker


def kick(app: Flask) -> None:
    """Wake the app's import worker, if it runs one."""
    worker = app.extensions.get(EXTENSION)
    if isinstance(worker, ImportWorker):
        worker.kick()
