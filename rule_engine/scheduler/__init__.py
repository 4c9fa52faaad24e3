"""Time triggers: finding due records in SQL, firing them exactly once, and the scheduler service."""

from rule_engine.scheduler.due import DueItem, due_records
from rule_engine.scheduler.runner import RunReport, run_due
from rule_engine.scheduler.service import SchedulerService

__all__ = ["DueItem", "RunReport", "SchedulerService", "due_records", "run_due"]
