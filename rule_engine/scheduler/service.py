"""The scheduler service: runs due time triggers, retries and outbox deliveries every few seconds.

It runs inside the web app on an APScheduler BackgroundScheduler (``start``), or as a dedicated process
(``run_forever``).  Any number of them may run at once: the firing ledger keeps each firing single.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from metamodel.records.hooks import RecordHooks
from metamodel.versions import MetadataService
from rule_engine.delivery.worker import OutboxWorker
from rule_engine.engine import RuleEngine
from rule_engine.ledger import MAX_ATTEMPTS
from rule_engine.scheduler.claiming import Timeouts
from rule_engine.scheduler.jobs import PeriodicJob, run_jobs
from rule_engine.scheduler.runner import run_due

log = logging.getLogger(__name__)


class SchedulerService:
    """Runs ``run_due`` and the outbox worker on an interval; the clock is injectable for tests."""

    def __init__(
        self,
        db: Engine,
        metadata: MetadataService,
        rules: RuleEngine,
        hooks: RecordHooks,
        *,
        interval: float = 30.0,
        clock: Callable[[], dt.datetime] | None = None,
        outbox: OutboxWorker | None = None,
        limit: int = 500,
        max_attempts: int = MAX_ATTEMPTS,
        jobs: list[PeriodicJob] | None = None,
        budget: float | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.db = db
        self.metadata = metadata
        self.rules = rules
        self.hooks = hooks
        self.interval = interval
        self.clock = clock or rules.clock
        self.outbox = outbox if outbox is not None else OutboxWorker(db)
        self.limit = limit
        # Seconds a tick may spend draining backlogs (batches of ``limit``, rules taking turns).
        self.budget = budget
        self.timeouts = timeouts or Timeouts()
        self.max_attempts = max_attempts
        self.jobs = list(jobs or [])  # periodic jobs (e.g. the lead pool's auto-return), once per period
        self._tick_lock = threading.Lock()
        self._background: BackgroundScheduler | None = None

    def tick(self) -> dict[str, Any]:
        """Fire what is due now, deliver due outbox messages and run due periodic jobs; returns the reports."""
        with self._tick_lock:
            now = self.clock()
            site = self.metadata.model()
            firing = run_due(
                self.db,
                site,
                now,
                self.rules,
                self.hooks,
                self.limit,
                self.max_attempts,
                budget=self.budget if self.budget is not None else max(1.0, self.interval * 0.8),
                timeouts=self.timeouts,
            )
            delivery = self.outbox.tick(self.clock())
            jobs = run_jobs(self.db, self.jobs, now)
        return {
            "at": now.isoformat(),
            "firing": firing.as_dict(),
            "delivery": delivery.as_dict(),
            "jobs": jobs,
        }

    def _safe_tick(self) -> None:
        try:
            report = self.tick()
        except Exception:  # the loop must survive a bad tick (database down, broken metadata)
            log.exception("scheduler tick failed")
            return
        if (
            report["firing"]["fired"]
            or report["firing"]["errors"]
            or report["delivery"]["delivered"]
            or any(value != "taken" and value != {} for value in report["jobs"].values())
        ):
            log.info("scheduler tick: %s", report)

    # --- inside the web app -------------------------------------------------------------------
    def start(self) -> None:
        """Start ticking on a background thread (APScheduler); call ``shutdown`` on exit."""
        if self._background is not None:
            return
        scheduler = BackgroundScheduler(timezone=dt.UTC, daemon=True)
        scheduler.add_job(
            self._safe_tick,
            IntervalTrigger(seconds=self.interval, timezone=dt.UTC),
            id="crm-rule-scheduler",
            max_instances=1,
            coalesce=True,
            next_run_time=dt.datetime.now(dt.UTC),
        )
        scheduler.start()
        self._background = scheduler

    def shutdown(self, wait: bool = True) -> None:
        """Stop the background thread started by ``start``."""
        if self._background is not None:
            self._background.shutdown(wait=wait)
            self._background = None

    @property
    def running(self) -> bool:
        """Whether the background thread is running."""
        return self._background is not None and bool(self._background.running)

    # --- as a dedicated process ---------------------------------------------------------------
    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set or SIGTERM/SIGINT arrives."""
        stop = stop or threading.Event()
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, lambda *_: stop.set())
        log.info("scheduler running every %s s", self.interval)
        while not stop.is_set():
            self._safe_tick()
            stop.wait(self.interval)
        log.info("scheduler stopped")
