"""Backfill: computing new or changed formula and roll-up fields for the records that already exist.

A job (``sys_rule_backfill``) names an entity and the fields to compute; it advances in id order, one
batch per transaction, and records how far it got, so a stopped worker resumes where it was.  Each
field of a batch is one set-based ``UPDATE`` when its formula or roll-up translates to SQL; otherwise
its values are computed in Python, row by row.  Values are stored on the rows directly: a backfill
follows a metadata change (audited as the publish), not a change of the records, so it neither bumps
``lock_version`` nor fires triggers.  Parents whose roll-ups read a backfilled field get a job next.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, Numeric, bindparam, func, literal, or_, select

from metamodel.fieldtypes.numeric import DecimalType
from metamodel.model import EntityModel, SiteModel
from rule_engine.evaluation import Expressions
from rule_engine.expressions.sqlvalue import column_scale, to_sql_value
from rule_engine.fieldrules.compute import Calculator, ComputeFailed
from rule_engine.fieldrules.recompute import rollup_inputs
from rule_engine.fieldrules.rollupsql import rollup_sql
from rule_engine.fieldrules.spec import SiteRules
from rule_engine.tables import rule_backfills

BATCH = 50_000


def computed_fields(
    rules: SiteRules, expressions: Expressions, site: SiteModel, entity: str, names: Iterable[str]
) -> list[str]:
    """Return ``names`` and the formulas reading them (transitively), roll-ups first, then in formula order."""
    entity_rules = rules.of(entity)
    wanted = {n for n in names if n in entity_rules.derived}
    for name in entity_rules.formula_order:
        used = expressions.compile(site, entity, str(entity_rules.fields[name].formula)).fields_used
        if used & wanted:
            wanted.add(name)
    rollups = [r.target for r in entity_rules.rollups if r.target in wanted]
    return rollups + [n for n in entity_rules.formula_order if n in wanted]


def enqueue(
    conn: Connection, site: SiteModel, entity: str, fields: list[str], now: dt.datetime, reason: str
) -> int:
    """Add a pending job computing ``fields`` of every ``entity`` record; returns its id."""
    table = site.entity(entity).table
    total = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    result = conn.execute(
        rule_backfills.insert().values(
            entity=entity,
            fields=fields,
            status="pending",
            total=total,
            done=0,
            last_id=0,
            reason=reason[:200],
            error="",
            created_at=now,
            updated_at=now,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def job_row(conn: Connection, job_id: int) -> dict[str, Any] | None:
    """Return a job as a dict (its progress: ``done`` of ``total``), or None."""
    row = conn.execute(select(rule_backfills).where(rule_backfills.c.id == job_id)).mappings().first()
    return dict(row) if row is not None else None


def pending_jobs(conn: Connection) -> list[int]:
    """Return the ids of the jobs not finished yet, oldest first."""
    status = rule_backfills.c.status
    return [
        int(i)
        for i in conn.execute(
            select(rule_backfills.c.id)
            .where(status.in_(("pending", "running")))
            .order_by(rule_backfills.c.id)
        ).scalars()
    ]


def step(
    conn: Connection,
    site: SiteModel,
    rules: SiteRules,
    expressions: Expressions,
    job_id: int,
    now: dt.datetime,
    batch: int = BATCH,
) -> bool:
    """Compute the next batch of a job inside ``conn``'s transaction; returns whether the job is finished."""
    job = job_row(conn, job_id)
    if job is None or job["status"] in ("done", "failed"):
        return True
    entity = str(job["entity"])
    if entity not in site.entities:
        _finish(conn, job_id, now, "failed", f"{entity} no longer exists")
        return True
    model = site.entity(entity)
    table = model.table
    last = int(job["last_id"])
    ids = select(table.c.id).where(table.c.id > last).order_by(table.c.id).limit(batch).subquery()
    high, count = conn.execute(select(func.max(ids.c.id), func.count()).select_from(ids)).one()
    if high is None:
        _finish(conn, job_id, now, "done", str(job["error"]))
        _enqueue_parents(conn, site, rules, expressions, entity, list(job["fields"]), now)
        return True
    failures: list[str] = []
    for name in [n for n in job["fields"] if n in rules.of(entity).derived]:
        _compute(conn, site, rules, expressions, model, name, (last, int(high)), now, failures)
    error = str(job["error"]) or (failures[0] if failures else "")
    conn.execute(
        rule_backfills.update()
        .where(rule_backfills.c.id == job_id)
        .values(
            status="running",
            last_id=int(high),
            done=int(job["done"]) + int(count),
            updated_at=now,
            error=error,
        )
    )
    return False


def run_job(
    db: Any,
    site: SiteModel,
    rules: SiteRules,
    expressions: Expressions,
    job_id: int,
    now: dt.datetime,
    *,
    batch: int = BATCH,
    deadline: float | None = None,
) -> bool:
    """Run a job batch by batch, one transaction each, until it is finished or ``deadline`` (monotonic) passed."""
    import time

    while True:
        with db.begin() as conn:
            if step(conn, site, rules, expressions, job_id, now, batch):
                return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


def _finish(conn: Connection, job_id: int, now: dt.datetime, status: str, error: str) -> None:
    conn.execute(
        rule_backfills.update()
        .where(rule_backfills.c.id == job_id)
        .values(status=status, error=error, updated_at=now)
    )


def _enqueue_parents(
    conn: Connection,
    site: SiteModel,
    rules: SiteRules,
    expressions: Expressions,
    entity: str,
    fields: list[str],
    now: dt.datetime,
) -> None:
    # Roll-ups of other records reading a backfilled field are stale now: they get a job of their own.
    targets: dict[str, list[str]] = {}
    for parent, rollup in rules.watchers.get(entity, []):
        if parent != entity and set(fields) & rollup_inputs(expressions, site, entity, rollup):
            targets.setdefault(parent, []).append(rollup.target)
    for parent, names in sorted(targets.items()):
        ordered = computed_fields(rules, expressions, site, parent, names)
        enqueue(conn, site, parent, ordered, now, f"{entity} {', '.join(fields)} recomputed")


def _compute(
    conn: Connection,
    site: SiteModel,
    rules: SiteRules,
    expressions: Expressions,
    model: EntityModel,
    name: str,
    span: tuple[int, int],
    now: dt.datetime,
    failures: list[str],
) -> None:
    table = model.table
    where = (table.c.id > span[0], table.c.id <= span[1])
    value = field_sql(site, rules, expressions, model, name, now, conn.dialect.name)
    if value is not None and not _any_misfit(conn, model, name, value, where):
        conn.execute(table.update().where(*where).values({name: value}))
        return
    # No SQL form, or some value of the batch does not fit its field: row by row, reporting each.
    calc = Calculator(expressions, site, model.name, conn, now)
    rule = rules.of(model.name).fields[name]
    changes = []
    for found in conn.execute(select(table).where(*where).order_by(table.c.id)).mappings():
        row = dict(found)
        try:
            if rule.rollup is not None:
                new = calc.rollup(rule.rollup, row)
            else:
                new = calc.formula(name, str(rule.formula), row)
        except ComputeFailed as exc:
            failures.append(f"{model.name} {row['id']}: {name} {exc.problem.message}")
            new = None
        if new != row[name]:
            changes.append({"_id": row["id"], "_value": new})
    if changes:
        conn.execute(
            table.update().where(table.c.id == bindparam("_id")).values({name: bindparam("_value")}), changes
        )


def _any_misfit(conn: Connection, model: EntityModel, name: str, value: Any, where: tuple[Any, ...]) -> bool:
    """Whether a set-based value of some row is out of the field's range (SQLite would store it as a float
    or past ``max``; PostgreSQL would fail the whole batch), so the batch is computed row by row instead."""
    low, high = stored_bounds(model, name, conn.dialect.name == "sqlite")
    # Typed bounds: a value typed as its decimal column would scale a bound a second time.
    kind = BigInteger() if conn.dialect.name == "sqlite" else Numeric()
    misfit = or_(value < literal(low, kind), value > literal(high, kind))
    if conn.dialect.name == "sqlite":
        misfit = or_(misfit, func.typeof(value) == "real")  # a 64-bit overflow turned into a float
    found = conn.execute(select(model.table.c.id).where(*where, misfit).limit(1)).first()
    return found is not None


def stored_bounds(model: EntityModel, name: str, scaled: bool) -> tuple[Any, Any]:
    """Return the lowest and highest value a number field stores (SQLite: as the scaled integer it stores)."""
    definition = model.fields[name]
    field_type = model.types[name]
    scale = field_type.scale(definition) if isinstance(field_type, DecimalType) else 0
    if isinstance(field_type, DecimalType):
        limit = Decimal(10) ** (17 - scale) - Decimal(1).scaleb(-scale)  # prepare: |value| < 10**(17-scale)
    else:
        limit = Decimal(2**63 - 1)
    low = max(-limit, Decimal(str(definition.get("min")))) if definition.get("min") is not None else -limit
    high = min(limit, Decimal(str(definition.get("max")))) if definition.get("max") is not None else limit
    if not scaled:
        return low, high
    factor = Decimal(10) ** scale
    return math.ceil(low * factor), math.floor(high * factor)


def field_sql(
    site: SiteModel,
    rules: SiteRules,
    expressions: Expressions,
    model: EntityModel,
    name: str,
    now: dt.datetime,
    dialect: str,
) -> Any:
    """Return a formula or roll-up field's value at ``now`` for each row of its table as SQL, or None."""
    rule = rules.of(model.name).fields[name]
    if rule.rollup is not None:
        return rollup_sql(expressions, site, model, rule.rollup, now, dialect)
    scale = column_scale(model.table.c[name])
    if scale is None or name in model.seals:
        return None
    compiled = expressions.compile(site, model.name, str(rule.formula))
    return to_sql_value(compiled, model, scale, now, site, dialect)


def changed_derived(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return, by entity, the fields whose formula or roll-up is new or changed between two entity-document maps."""
    found: dict[str, list[str]] = {}
    for entity, doc in sorted(current.items()):
        old_rules = {f.get("name"): _derivation(f) for f in (previous.get(entity) or {}).get("fields") or []}
        for definition in doc.get("fields") or []:
            derivation = _derivation(definition)
            if derivation is not None and old_rules.get(definition.get("name")) != derivation:
                found.setdefault(entity, []).append(str(definition.get("name")))
    return found


def _derivation(definition: Mapping[str, Any]) -> Any:
    rules = definition.get("rules")
    if not isinstance(rules, Mapping):
        return None
    if rules.get("formula") or rules.get("rollup"):
        return (definition.get("type"), rules.get("formula"), rules.get("rollup"))
    return None
