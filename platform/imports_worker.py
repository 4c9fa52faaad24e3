"""The import worker: a thread of the scheduler process (or of the app in the embedded default) running import jobs.

Jobs wait in the database (sys_import_job), so any number of workers on SQLite or PostgreSQL share
them; a job whose worker died is taken over once its lease runs out and resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading

from flask import Flask

from crm_platform.services import CrmServices
from metamodel.database import write_transaction
from metamodel.imports.jobs import claim_job
from metamodel.imports.runner import BATCH, run_job

log = logging.getLogger(__name__)
EXTENSION = "crm.imports"


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
        """Run every job there is to run now (or just ``job_id``); returns how many were run."""
        ran = 0
        while not self._stop.is_set():
            with write_transaction(self.svc.engine) as conn:
                claimed = claim_job(conn, self.name, self.svc.clock(), job_id)
            if claimed is None:
                return ran
            log.info("import %s: running on %s", claimed, self.name)
            run_job(self.svc.runtime, claimed, self.name, size=self.batch)
            ran += 1
        return ran

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
