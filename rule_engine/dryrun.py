"""Dry run of a (draft) trigger against existing data: which records would match or fire, and why.

Nothing runs and nothing is written: the work happens in a transaction (or savepoint) rolled back at
the end.  For a time trigger, ``matches`` are the records due at ``now`` and not fired yet (what a
scheduler tick at that time would fire); with ``until``, every firing due in the window up to it
(``dryrunwindow``).  For an event trigger, they are the records that satisfy the condition at ``now``,
i.e. that would fire if the event happened to them then.  ``now`` may be a time other than the clock's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from metamodel.documents import check_document
from metamodel.errors import Problem
from metamodel.model import SiteModel
from metamodel.records.values import serialize_row
from rule_engine.dryrunwindow import window_items
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import Expressions, load_record, plain, shared_expressions
from rule_engine.scheduler.due import DueItem, due_records
from rule_engine.triggers.checks import check_trigger
from rule_engine.triggers.spec import TriggerSpec, workflow_of

MAX_COUNTED = 10_000
_BATCH = 500


def dry_run(
    trigger_doc: Mapping[str, Any],
    site: SiteModel,
    conn: Connection,
    now: dt.datetime,
    rules: RuleEngine,
    limit: int = 100,
    *,
    until: dt.datetime | None = None,
    since: dt.datetime | None = None,
) -> dict[str, Any]:
    """Return ``{matches: [{id, title, due_at, values}], would_fire: n, ...}``; changes nothing.

    With ``until`` a time trigger lists every firing due from ``since`` (default: where the scheduler
    stands at ``now``) until then.
    """
    name = str(trigger_doc.get("name") or "draft")
    prefix = f"trigger.{name}"
    problems = check_document("trigger", dict(trigger_doc), prefix)
    if not problems:
        problems = check_trigger(trigger_doc, site, rules, prefix)
    if not problems and until is not None and trigger_doc.get("event") != "time":
        problems = [Problem("until", "a window applies to time triggers; give a time instead", "window")]
    report: dict[str, Any] = {
        "rule": name,
        "at": plain(now),
        "matches": [],
        "would_fire": 0,
        "truncated": False,
    }
    if until is not None:
        report["from"], report["until"] = plain(since) if since is not None else None, plain(until)
    if problems:
        report["problems"] = [problem.as_dict() for problem in problems]
        return report
    spec = TriggerSpec.from_doc(trigger_doc)
    transaction = conn.begin_nested() if conn.in_transaction() else conn.begin()
    try:
        expressions = shared_expressions(rules.functions)
        if spec.event == "time" and until is not None:
            _window_matches(spec, site, conn, (now, since, until), expressions, limit, report)
        elif spec.event == "time":
            _time_matches(spec, site, conn, now, expressions, limit, report)
        else:
            _event_matches(spec, site, conn, now, expressions, limit, report)
    finally:
        transaction.rollback()
    report["event"] = spec.event
    return report


def _decided(
    spec: TriggerSpec, site: SiteModel, expressions: Expressions, record: Mapping[str, Any]
) -> dict[str, Any]:
    names = expressions.fields_used(site, spec.entity, spec.condition)
    schedule = spec.schedule
    if schedule is not None and schedule.relative_to:
        names.append(schedule.relative_to)
    if schedule is not None and schedule.kind == "in_state":
        workflow = workflow_of(site, spec.entity)
        if workflow:
            names.append(str(workflow["state_field"]))
    return {n: plain(record.get(n)) for n in dict.fromkeys(names) if n in record}


def _match(
    spec: TriggerSpec, site: SiteModel, expressions: Expressions, record: Mapping[str, Any], due_at: Any
) -> dict[str, Any]:
    model = site.entity(spec.entity)
    title_field = model.entity.title_field
    title = record.get(title_field) if title_field else None
    return {
        "id": record.get("id"),
        "title": str(title or record.get("record_no") or f"#{record.get('id')}"),
        "due_at": plain(due_at),
        "values": _decided(spec, site, expressions, record),
    }


def _time_matches(
    spec: TriggerSpec,
    site: SiteModel,
    conn: Connection,
    now: dt.datetime,
    expressions: Expressions,
    limit: int,
    report: dict[str, Any],
) -> None:
    items = due_records(conn, site, spec, now, expressions, MAX_COUNTED)
    report["would_fire"] = len(items)
    report["truncated"] = len(items) >= MAX_COUNTED or len(items) > limit
    _list(spec, site, conn, items[:limit], expressions, report)


def _window_matches(
    spec: TriggerSpec,
    site: SiteModel,
    conn: Connection,
    times: tuple[dt.datetime, dt.datetime | None, dt.datetime],
    expressions: Expressions,
    limit: int,
    report: dict[str, Any],
) -> None:
    now, since, until = times
    items, more = window_items(spec, site, conn, now, since, until, expressions, MAX_COUNTED)
    report["would_fire"] = len(items)
    report["truncated"] = more or len(items) > limit
    _list(spec, site, conn, items[:limit], expressions, report)


def _list(
    spec: TriggerSpec,
    site: SiteModel,
    conn: Connection,
    items: list[DueItem],
    expressions: Expressions,
    report: dict[str, Any],
) -> None:
    for item in items:
        if item.record_id == 0:
            report["matches"].append(
                {"id": None, "title": "(once, no record)", "due_at": plain(item.due_at), "values": {}}
            )
            continue
        record = load_record(conn, site, spec.entity, item.record_id) or {"id": item.record_id}
        report["matches"].append(_match(spec, site, expressions, record, item.due_at))


def _event_matches(
    spec: TriggerSpec,
    site: SiteModel,
    conn: Connection,
    now: dt.datetime,
    expressions: Expressions,
    limit: int,
    report: dict[str, Any],
) -> None:
    model = site.entity(spec.entity)
    table = model.table
    statement = select(table)
    condition_sql = expressions.to_sql(site, spec.entity, spec.condition, now) if spec.condition else None
    in_python = spec.condition is not None and condition_sql is None
    if condition_sql is not None:
        statement = statement.where(condition_sql)
    count, last_id, scanned = 0, 0, 0
    while count < MAX_COUNTED and scanned < MAX_COUNTED * 5:
        rows = (
            conn.execute(statement.where(table.c.id > last_id).order_by(table.c.id).limit(_BATCH))
            .mappings()
            .all()
        )
        if not rows:
            break
        scanned += len(rows)
        for row in rows:
            last_id = int(row["id"])
            record = serialize_row(model, row)
            if in_python and not _holds(spec, site, conn, record, now, expressions, report):
                continue
            count += 1
            if len(report["matches"]) < limit:
                report["matches"].append(_match(spec, site, expressions, record, None))
    report["would_fire"] = count
    report["truncated"] = count > limit or count >= MAX_COUNTED


def _holds(
    spec: TriggerSpec,
    site: SiteModel,
    conn: Connection,
    record: Mapping[str, Any],
    now: dt.datetime,
    expressions: Expressions,
    report: dict[str, Any],
) -> bool:
    try:
        with conn.begin_nested():
            return expressions.holds(site, spec.entity, spec.condition, conn, record, now)
    except Exception as exc:
        errors = report.setdefault("errors", [])
        if len(errors) < 10:
            errors.append(f"{spec.entity} {record.get('id')}: {type(exc).__name__}: {exc}")
        return False
