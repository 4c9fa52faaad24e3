"""The dry run of a time trigger over a window: every firing due from one time until another, and for which records.

``until`` ends the window; it starts at ``since`` or, without one, where the scheduler stands now
(the rule's watermark: what is overdue and not fired yet fires at the next tick, so it is in the
window too).  A relative or time-in-state schedule is one query over the window; a cron schedule is
one query per slot in the window (at most ``MAX_SLOTS``).  The condition is judged as it will be
when each firing comes due: one reading the clock (``today()``, ``now()``...) is evaluated at each
firing's due time, on the data as it is now.  Already fired keys are left out, as the scheduler does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import Connection

from metamodel.model import SiteModel
from rule_engine.evaluation import Expressions, load_record
from rule_engine.fieldrules.clockfields import clock_functions
from rule_engine.scheduler.due import DueItem, DueWindow, due_records
from rule_engine.scheduler.watermark import window_for
from rule_engine.triggers.cron import parse_cron
from rule_engine.triggers.spec import TriggerSpec

MAX_SLOTS = 500
MAX_WINDOW = dt.timedelta(days=366)


def window_items(
    spec: TriggerSpec,
    site: SiteModel,
    conn: Connection,
    now: dt.datetime,
    since: dt.datetime | None,
    until: dt.datetime,
    expressions: Expressions,
    most: int,
) -> tuple[list[DueItem], bool]:
    """Return (the firings due in the window, earliest first, at most ``most``; whether more were left out)."""
    schedule = spec.schedule
    assert schedule is not None
    window = DueWindow(since, since) if since is not None else window_for(conn, spec, now)
    if schedule.kind == "cron":
        return _cron_items(spec, site, conn, window.low, until, expressions, most)
    timed = spec.condition is not None and bool(
        clock_functions(expressions.compile(site, spec.entity, spec.condition), expressions.functions)
    )
    found = due_records(
        conn,
        site,
        dataclasses.replace(spec, condition=None) if timed else spec,
        until,
        expressions,
        most + 1,
        window,
    )
    if timed:
        found = [item for item in found if _holds_then(spec, site, conn, item, expressions)]
    found.sort(key=lambda item: (item.due_at, item.record_id))
    return found[:most], len(found) > most


def _cron_items(
    spec: TriggerSpec,
    site: SiteModel,
    conn: Connection,
    low: dt.datetime,
    until: dt.datetime,
    expressions: Expressions,
    most: int,
) -> tuple[list[DueItem], bool]:
    schedule = spec.schedule
    assert schedule is not None
    cron = parse_cron(str(schedule.cron), schedule.zone_name(site))
    items: list[DueItem] = []
    slot = cron.get_next_fire_time(None, low + dt.timedelta(seconds=1))
    slots = 0
    while slot is not None and slot <= until:
        if slots >= MAX_SLOTS or len(items) > most:
            return items[:most], True
        # One tick at the slot: the latest slot it sees is this one.
        at_slot = dataclasses.replace(schedule, lookback_hours=0.001)
        items += due_records(
            conn, site, dataclasses.replace(spec, schedule=at_slot), slot, expressions, most + 1
        )
        slots += 1
        slot = cron.get_next_fire_time(slot, slot + dt.timedelta(seconds=1))
    return items[:most], len(items) > most


def _holds_then(
    spec: TriggerSpec, site: SiteModel, conn: Connection, item: DueItem, expressions: Expressions
) -> bool:
    # The condition as it will be judged when the firing comes due (its clock then, the data now).
    record: Any = load_record(conn, site, spec.entity, item.record_id) if item.record_id else {}
    if record is None:
        return False
    try:
        with conn.begin_nested():
            return bool(expressions.holds(site, spec.entity, str(spec.condition), conn, record, item.due_at))
    except Exception:  # the dry run's Python scan reports errors; here a failing record does not fire
        return False
