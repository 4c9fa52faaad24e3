"""Where backfills start and run: on publish (small tables inline), in the scheduler's periodic jobs, on demand.

A publish that adds or changes a formula or roll-up queues a job per entity inside the publishing
transaction; tables of at most ``inline_limit`` records are computed right there, so the new version
is never seen with empty values, and larger ones by the scheduler's ``BackfillJob`` in batches with
progress (``sys_rule_backfill``), resuming after a restart where the last batch ended.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from metamodel.model import SiteModel
from metamodel.sitesettings import site_zone
from metamodel.versions import MetadataService, Published
from rule_engine.evaluation import shared_expressions
from rule_engine.fieldrules.backfill import (
    changed_derived,
    computed_fields,
    enqueue,
    job_row,
    pending_jobs,
    step,
)
from rule_engine.fieldrules.spec import site_rules

INLINE_LIMIT = 10_000


def queue_recompute(
    conn: Connection,
    site: SiteModel,
    functions: Any,
    entity: str,
    names: list[str],
    now: dt.datetime,
    reason: str,
) -> int:
    """Queue a job computing ``names`` (and the formulas reading them) of every ``entity`` record."""
    expressions = shared_expressions(functions)
    fields = computed_fields(site_rules(site, expressions), expressions, site, entity, names)
    return enqueue(conn, site, entity, fields, now, reason)


def run_pending(
    conn: Connection,
    site: SiteModel,
    functions: Any,
    now: dt.datetime,
    *,
    budget: float | None = None,
    smaller_than: int | None = None,
    since_job: int = 0,
) -> dict[int, str]:
    """Advance the unfinished jobs (those from ``since_job`` on, of at most ``smaller_than`` records) in ``conn``."""
    expressions = shared_expressions(functions)
    rules = site_rules(site, expressions)
    deadline = time.monotonic() + budget if budget is not None else None
    report: dict[int, str] = {}
    progressed = True
    while progressed:
        progressed = False
        for job_id in pending_jobs(conn):
            job = job_row(conn, job_id)
            if (
                job is None
                or job_id < since_job
                or (smaller_than is not None and job["total"] > smaller_than)
            ):
                continue
            progressed = True
            while not step(conn, site, rules, expressions, job_id, now):
                if deadline is not None and time.monotonic() >= deadline:
                    break
            job = job_row(conn, job_id) or {}
            report[job_id] = f"{job.get('status')} {job.get('done')}/{job.get('total')}"
            if deadline is not None and time.monotonic() >= deadline:
                return report
        if deadline is None and smaller_than is None:
            break
    return report


class PublishBackfill:
    """An ``on_publish`` listener: queue (and, for small tables, run) the backfill of changed derived fields."""

    def __init__(self, metadata: MetadataService, functions: Any, inline_limit: int = INLINE_LIMIT) -> None:
        self.metadata = metadata
        self.functions = functions
        self.inline_limit = inline_limit

    def __call__(self, event: Published) -> None:
        """Queue a job per entity whose formulas or roll-ups are new or changed in the published version."""
        previous = event.previous.documents.get("entity", {})
        changes = changed_derived(previous, event.bundle.documents.get("entity", {}))
        if not changes:
            return
        site = SiteModel(event.info.number, event.bundle, self.metadata.registry, self.metadata.sealing)
        site.time_zone = site_zone(event.conn)  # today() in a backfilled formula is the site's day
        now = event.info.created_at
        first = 0
        for entity, names in changes.items():
            if entity not in site.entities:
                continue
            reason = f"version {event.info.number} changed {', '.join(names)}"
            job_id = queue_recompute(event.conn, site, self.functions, entity, names, now, reason)
            first = first or job_id
        if first:
            run_pending(
                event.conn, site, self.functions, now, smaller_than=self.inline_limit, since_job=first
            )


class BackfillJob:
    """A periodic job of the scheduler: advance the queued backfills within a time budget per tick."""

    name = "backfill"

    def __init__(
        self,
        site: Callable[[], SiteModel],
        functions: Any,
        every: dt.timedelta = dt.timedelta(seconds=30),
        budget: float = 20.0,
    ) -> None:
        self.site = site
        self.functions = functions
        self.every = every
        self.budget = budget

    def run(self, conn: Connection, now: dt.datetime) -> dict[int, str]:
        """Advance the oldest unfinished jobs until they are done or the budget is spent."""
        return run_pending(conn, self.site(), self.functions, now, budget=self.budget)
