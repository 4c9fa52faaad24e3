"""Finding due records of a time trigger with one SQL query per batch, never by loading every record.

The query restricts the due time (anchor plus offset) to a window: ``(low, now]``, plus, for records
edited since ``edited_after``, ``(since, now]`` (a record back-dated below the watermark is still found).
Without a window it is ``(now - lookback, now]``.  It adds the trigger's condition when the expression language
can translate it to SQL, and excludes keys already in the ledger with ``NOT EXISTS``.  Conditions that
cannot be translated are evaluated in Python over the (window-restricted) candidates, in id batches.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, and_, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from metamodel.model import EntityModel, SiteModel
from metamodel.records.values import serialize_row
from rule_engine.evaluation import Expressions
from rule_engine.ledger import as_moment, due_key, due_key_sql, not_fired
from rule_engine.tables import state_history
from rule_engine.triggers.cron import latest_slot, parse_cron
from rule_engine.triggers.spec import TriggerSpec, workflow_of

log = logging.getLogger(__name__)

SCAN_BATCH = 500
MAX_SCAN = 50_000
_ANCHOR = "_anchor"


@dataclass(frozen=True)
class DueWindow:
    """Which due times count: after ``low``, or after ``since`` for records edited after ``edited_after``."""

    low: dt.datetime
    since: dt.datetime
    edited_after: dt.datetime | None = None

    @classmethod
    def lookback(cls, now: dt.datetime, seconds: int) -> DueWindow:
        """The window of a rule without a watermark: the last ``seconds`` before ``now``."""
        low = now - dt.timedelta(seconds=seconds)
        return cls(low, low)


@dataclass(frozen=True)
class DueItem:
    """One firing that is due: the record (0 for none), its ledger key and when it came due."""

    record_id: int
    due_key: str
    due_at: dt.datetime


# Conditions that raised while scanning, as (record id, message): the scan only reads, so the runner
# takes them (``scan_errors``) and writes them to the rule-error log in a transaction of its own.
_SCAN_ERRORS = "crm_due_scan_errors"


def scan_errors(conn: Connection) -> list[tuple[int, str]]:
    """Return and forget the condition errors met by ``due_records`` on ``conn``."""
    found: list[tuple[int, str]] = conn.info.pop(_SCAN_ERRORS, [])
    return found


def due_records(
    conn: Connection,
    site: SiteModel,
    trigger: TriggerSpec,
    now: dt.datetime,
    expressions: Expressions,
    limit: int = 500,
    window: DueWindow | None = None,
) -> list[DueItem]:
    """Return up to ``limit`` due, not yet fired items of a time trigger, oldest ids first."""
    schedule = trigger.schedule
    if trigger.event != "time" or schedule is None:
        return []
    model = site.entity(trigger.entity)
    table = model.table
    window = window or DueWindow.lookback(now, schedule.lookback_seconds)
    if schedule.kind == "cron":
        # A cron slot is coalesced and fires at most ``lookback_hours`` late, watermark or not.
        lookback = dt.timedelta(seconds=schedule.lookback_seconds)
        slot = latest_slot(parse_cron(str(schedule.cron), schedule.zone_name(site)), now, lookback)
        if slot is None:
            return []
        key = due_key(slot)
        if not trigger.needs_record:
            fired = conn.execute(select(literal(1)).where(~not_fired(trigger.name, 0, key))).first()
            return [] if fired else [DueItem(0, key, slot)]
        statement = select(table).where(not_fired(trigger.name, table.c.id, key))
        return _collect(
            conn, site, model, trigger, statement, now, expressions, limit, lambda _a: (key, slot)
        )
    offset = dt.timedelta(seconds=schedule.offset_seconds)
    high = now - offset
    low = window.low - offset
    if schedule.kind == "relative":
        column = table.c[str(schedule.relative_to)]
        zone = site.time_zone if model.fields[str(schedule.relative_to)].type == "date" else None
        in_window = _between(column, low, high, zone)
        if window.edited_after is not None and window.since < window.low:
            back_dated = and_(
                table.c.updated_at > window.edited_after,
                _between(column, window.since - offset, high, zone),
            )
            in_window = or_(in_window, back_dated)
        statement = select(table, column.label(_ANCHOR)).where(
            column.is_not(None),
            in_window,
            not_fired(
                trigger.name, table.c.id, due_key_sql(column, schedule.offset_seconds, conn.dialect.name)
            ),
        )

        def relative_key(anchor: Any) -> tuple[str, dt.datetime]:
            moment = as_moment(anchor)
            assert moment is not None
            # The ledger key stays "anchor at midnight UTC + offset" (keys of firings made before the
            # site had a time zone still match); the firing comes due at the site's midnight.
            return due_key(moment + offset), local_anchor(anchor, zone) + offset

        return _collect(conn, site, model, trigger, statement, now, expressions, limit, relative_key)
    workflow = workflow_of(site, trigger.entity)
    if workflow is None:
        return []
    history = state_history
    statement = (
        select(table, history.c.at.label(_ANCHOR))
        .join(
            history,
            and_(
                history.c.record_id == table.c.id,
                history.c.entity == trigger.entity,
                history.c.is_current.is_(True),
                history.c.to_state == schedule.state,
            ),
        )
        .where(
            table.c[str(workflow["state_field"])] == schedule.state,
            history.c.at <= high,
            history.c.at > low,
            not_fired(trigger.name, table.c.id, due_key_sql(history.c.at, 0, conn.dialect.name)),
        )
    )

    def state_key(anchor: Any) -> tuple[str, dt.datetime]:
        entered = as_moment(anchor)
        assert entered is not None
        return due_key(entered), entered + offset

    return _collect(conn, site, model, trigger, statement, now, expressions, limit, state_key)


def local_anchor(anchor: Any, zone: ZoneInfo | None) -> dt.datetime:
    """Return the moment an anchor value stands for: a date is midnight in ``zone`` (the site's)."""
    moment = as_moment(anchor)
    assert moment is not None
    if zone is None or isinstance(anchor, dt.datetime) or (isinstance(anchor, str) and len(anchor) > 10):
        return moment
    return dt.datetime(moment.year, moment.month, moment.day, tzinfo=zone).astimezone(dt.UTC)


def _between(column: Any, low: dt.datetime, high: dt.datetime, zone: ZoneInfo | None) -> ColumnElement[bool]:
    # A date column (zone given) is due once the site's midnight of that day is within the window:
    # midnight(D) <= high  <=>  D <= the site's calendar day at ``high``.
    if zone is not None:
        return and_(column <= high.astimezone(zone).date(), column > low.astimezone(zone).date())
    return and_(column <= high, column > low)


def _collect(
    conn: Connection,
    site: SiteModel,
    model: EntityModel,
    trigger: TriggerSpec,
    statement: Select[Any],
    now: dt.datetime,
    expressions: Expressions,
    limit: int,
    key_of: Any,
) -> list[DueItem]:
    table = model.table
    condition_sql = None
    if trigger.condition:
        condition_sql = expressions.to_sql(site, trigger.entity, trigger.condition, now)
    if trigger.condition is None or condition_sql is not None:
        if condition_sql is not None:
            statement = statement.where(condition_sql)
        rows = conn.execute(statement.order_by(table.c.id).limit(limit)).mappings().all()
        return [DueItem(int(row["id"]), *key_of(row.get(_ANCHOR))) for row in rows]
    items: list[DueItem] = []
    last_id, scanned = 0, 0
    while len(items) < limit and scanned < MAX_SCAN:
        batch = statement.where(table.c.id > last_id).order_by(table.c.id).limit(SCAN_BATCH)
        rows = conn.execute(batch).mappings().all()
        if not rows:
            break
        scanned += len(rows)
        for row in rows:
            last_id = int(row["id"])
            record = serialize_row(model, row)
            try:
                with conn.begin_nested():
                    matches = expressions.holds(site, trigger.entity, trigger.condition, conn, record, now)
            except Exception as exc:
                log.warning(
                    "rule %s: condition failed on %s %s: %s", trigger.name, trigger.entity, last_id, exc
                )
                message = f"condition failed: {type(exc).__name__}: {exc}"
                conn.info.setdefault(_SCAN_ERRORS, []).append((last_id, message))
                continue
            if matches:
                items.append(DueItem(last_id, *key_of(row.get(_ANCHOR))))
                if len(items) >= limit:
                    break
    return items
