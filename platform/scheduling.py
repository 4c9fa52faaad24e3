"""Running the rule scheduler: on a background thread of a serving app, or as a dedicated process."""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from crm_platform.imports_worker import start_worker
from crm_platform.services import CrmServices
from crm_platform.startup import build_scheduler
from rule_engine.scheduler.service import SchedulerService

log = logging.getLogger(__name__)
MODES = ("app", "off")


def start_in_app(app: Flask) -> SchedulerService | None:
    """Start the in-app scheduler unless ``CRM_SCHEDULER=off``; returns it (None when off)."""
    mode = str(app.config.get("CRM_SCHEDULER") or "app").strip().lower()
    if mode not in MODES:
        raise ValueError(f"CRM_SCHEDULER must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return None
    svc: CrmServices = app.extensions["crm"]
    scheduler = build_scheduler(svc, app.config)
    scheduler.start()
    atexit.register(scheduler.shutdown, wait=False)
    app.extensions["crm.scheduler"] = scheduler
    # Import jobs run beside the scheduler: the embedded default (one process) runs them too.
    worker = start_worker(app)
    atexit.register(worker.stop)
    log.info("in-app scheduler started (every %s s)", scheduler.interval)
    return scheduler
