"""Keeping roll-ups and formulas current when something other than the record changed.

Parents are refreshed when a linking record is created, changed, moved or deleted; a roll-up whose
filter reads the clock (``placed >= add_months(today(), -12)``) also drifts with time alone, which
the scheduler's ``clock_fields`` job follows (``clockfields``); the ``recompute_fields`` action
recomputes one record on demand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from metamodel.errors import Problem, RecordInvalid
from metamodel.model import SiteModel
from rule_engine.actions.base import Action, ActionContext
from rule_engine.evaluation import Expressions, expressions_of
from rule_engine.fieldrules.compute import Calculator, DerivedWrite, refresh
from rule_engine.fieldrules.conditions import check_conditions
from rule_engine.fieldrules.spec import Rollup, SiteRules, site_rules


def derived_writer(runtime: Any, actor: Any, conn: Any) -> DerivedWrite:
    """Return the write storing recomputed values through the record runtime on ``conn``."""

    def write(entity: str, record_id: int, changes: dict[str, Any], record: dict[str, Any]) -> None:
        version = int(record["lock_version"])
        runtime.write_derived(entity, record_id, changes, actor, conn, expected_version=version)

    return write


def refresh_and_check(
    expressions: Expressions,
    rules: SiteRules,
    site: SiteModel,
    conn: Any,
    entity: str,
    record_id: int,
    now: dt.datetime,
    *,
    label: str = "",
    write: DerivedWrite | None = None,
    rollups: bool = True,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Refresh a record's computed fields (formulas only when not ``rollups``); raise RecordInvalid when a rule reading them now fails."""
    changes, record = refresh(
        expressions,
        rules,
        site,
        conn,
        entity,
        record_id,
        now,
        _checked(expressions, rules, site, conn, now, label, write),
        rollups=rollups,
    )
    return changes, record


def _checked(
    expressions: Expressions,
    rules: SiteRules,
    site: SiteModel,
    conn: Any,
    now: dt.datetime,
    label: str,
    write: DerivedWrite | None,
) -> DerivedWrite:
    # Rules reading the new values are checked before they are stored: a child's change that
    # would break its parent's validation is refused, naming the parent.
    def store(entity: str, record_id: int, changes: dict[str, Any], record: dict[str, Any]) -> None:
        table = site.entity(entity).table
        calc = Calculator(expressions, site, entity, conn, now)
        problems = check_conditions(calc, rules.of(entity), record, set(changes))
        if problems:
            if label:
                problems = [
                    Problem("", f"{label}: {p.path + ' ' if p.path else ''}{p.message}", p.code)
                    for p in problems
                ]
            raise RecordInvalid(f"the {entity} record is not valid", problems)
        if write is not None:
            write(entity, record_id, changes, record)
        else:
            conn.execute(table.update().where(table.c.id == record_id).values(changes))

    return store


def rollup_inputs(expressions: Expressions, site: SiteModel, source: str, rollup: Rollup) -> set[str]:
    """Return the fields of a linking record a roll-up reads: its link, its field, its filter's fields."""
    _, link = rollup.split()
    names = {
        link,
        *([rollup.field] if rollup.field else []),
        *([rollup.order_field] if rollup.order_field else []),
    }
    if rollup.filter:
        names |= set(expressions.compile(site, source, rollup.filter).fields_used)
    return names


def refresh_parents(
    expressions: Expressions,
    rules: SiteRules,
    site: SiteModel,
    conn: Any,
    entity: str,
    links: Iterable[Mapping[str, Any]],
    now: dt.datetime,
    write: DerivedWrite,
    changed: set[str] | None = None,
) -> None:
    """Refresh, once each, the records whose roll-ups count records of ``entity`` with these link values.

    ``links`` are the linking record's values before and after the change; ``changed`` names the
    fields it changed (None: all, a create or delete), so a change no roll-up reads costs nothing.
    Each parent's new values go through ``write`` (the record runtime), whose save of the parent
    refreshes the parent's own parents in turn.
    """
    links = list(links)
    targets: dict[str, set[int]] = {}
    for parent, rollup in rules.watchers.get(entity, []):
        if changed is not None and not changed & rollup_inputs(expressions, site, entity, rollup):
            continue
        _, link = rollup.split()
        targets.setdefault(parent, set()).update(int(v[link]) for v in links if v.get(link) is not None)
    for parent in sorted(targets):
        for parent_id in sorted(targets[parent]):
            refresh_and_check(
                expressions,
                rules,
                site,
                conn,
                parent,
                parent_id,
                now,
                label=f"{parent} {parent_id}",
                write=write,
            )


class RecomputeFields(Action):
    """Recompute the source record's roll-ups and formulas (run daily for roll-ups filtered by date)."""

    type = "recompute_fields"
    retry_safe = True
    schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False, "properties": {}}

    def check(self, config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
        """The entity must have computed fields."""
        model = site.entity(entity)
        if not any(
            isinstance(f.get("rules"), Mapping)
            and (f.get("rules").get("formula") or f.get("rules").get("rollup"))
            for f in model.entity.fields
        ):
            yield "", f"{entity} has no formula or roll-up fields to recompute"

    def needs_source(self, config: Mapping[str, Any]) -> bool:
        """It recomputes the source record."""
        return True

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        """Refresh the record and the parents whose roll-ups read it."""
        record_id = int(ctx.record["id"])
        expressions = expressions_of(ctx.services)
        rules = site_rules(ctx.site, expressions)
        changes, _ = refresh_and_check(
            expressions,
            rules,
            ctx.site,
            ctx.conn,
            ctx.entity,
            record_id,
            ctx.now,
            write=derived_writer(ctx.runtime, ctx.actor, ctx.conn),
        )
        return f"recomputed {', '.join(sorted(changes)) or 'nothing'} of {ctx.entity} {record_id}"
