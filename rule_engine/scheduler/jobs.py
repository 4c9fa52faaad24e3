"""Periodic jobs of the scheduler, each run once per period across every scheduler process.

A job's period is claimed in the firing ledger (rule ``job:<name>``, due key = the period's start)
in the same transaction as the job's work: a competitor's claim fails on the unique key (on
PostgreSQL it waits for the owner's commit first), and a crash rolls the claim back with the work,
so the next tick runs the period again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from rule_engine.ledger import claim, due_key

log = logging.getLogger(__name__)
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class PeriodicJob(Protocol):
    """Work done every ``every``; ``run`` gets the transaction and the clock reading, returns a JSON-ready report."""

    name: str
    every: dt.timedelta

    def run(self, conn: Connection, now: dt.datetime) -> Any:
        """Do one period's work in ``conn``."""
        ...


def period_start(now: dt.datetime, every: dt.timedelta) -> dt.datetime:
    """Return the start of the period ``now`` falls in (periods counted from 2000-01-01 UTC)."""
    elapsed = now.astimezone(dt.UTC) - _EPOCH
    return _EPOCH + every * (elapsed // every)


def run_jobs(db: Engine, jobs: list[PeriodicJob], now: dt.datetime) -> dict[str, Any]:
    """Run each job whose current period nobody has run yet; returns {job name: report, "taken" or "error: ..."}."""
    report: dict[str, Any] = {}
    for job in jobs:
        key = due_key(period_start(now, job.every))
        try:
            with db.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
                if claim(conn, f"job:{job.name}", "-", 0, key, now, detail="periodic job") is None:
                    report[job.name] = "taken"
                    continue
                report[job.name] = job.run(conn, now)
        except Exception as exc:  # one failing job must not stop the others nor the scheduler
            log.exception("periodic job %s failed", job.name)
            report[job.name] = f"error: {str(exc)[:200]}"
    return report
