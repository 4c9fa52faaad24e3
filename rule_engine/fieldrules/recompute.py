"""Keeping roll-ups and formulas current when something other than the record changed.

Parents are refreshed when a linking record is created, changed, moved or deleted; a roll-up whose
filter reads the clock (``placed >= add_months(today(), -12)``) also drifts with time alone, which
the ``recompute_fields`` action fixes when a daily cron trigger runs it on the entity's records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from metamodel.errors import Problem, RecordInvalid
from metamodel.model import SiteModel
from rule_engine.actions.base import Action, ActionContext
from rule_engine.evaluation import Expressions, expressions_of
from rule_engine.fieldrules.compute import Calculator, refresh
from rule_engine.fieldrules.conditions import check_conditions
from rule_engine.fieldrules.spec import SiteRules, site_rules

MAX_DEPTH = 10


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
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Refresh a record's computed fields; raise RecordInvalid when a rule reading them now fails."""
    changes, record = refresh(expressions, rules, site, conn, entity, record_id, now)
    if changes and record is not None:
        calc = Calculator(expressions, site, entity, conn, now)
        problems = check_conditions(calc, rules.of(entity), record, set(changes))
        if problems:
            if label:
                problems = [
                    Problem("", f"{label}: {p.path + ' ' if p.path else ''}{p.message}", p.code)
                    for p in problems
                ]
            raise RecordInvalid(f"the {entity} record is not valid", problems)
    return changes, record


def refresh_parents(
    expressions: Expressions,
    rules: SiteRules,
    site: SiteModel,
    conn: Any,
    entity: str,
    links: Iterable[Mapping[str, Any]],
    now: dt.datetime,
    depth: int = 0,
) -> None:
    """Refresh the records whose roll-ups count records of ``entity`` with these link values (old and new)."""
    if depth > MAX_DEPTH:
        return
    for parent, rollup in rules.watchers.get(entity, []):
        _, link = rollup.split()
        ids = sorted({int(v[link]) for v in links if v.get(link) is not None})
        for parent_id in ids:
            changes, record = refresh_and_check(
                expressions, rules, site, conn, parent, parent_id, now, label=f"{parent} {parent_id}"
            )
            if changes and record is not None:
                # Roll-ups of roll-ups: the parent's change moves its own parents' values.
                refresh_parents(expressions, rules, site, conn, parent, [record], now, depth + 1)


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
        changes, record = refresh_and_check(
            expressions, rules, ctx.site, ctx.conn, ctx.entity, record_id, ctx.now
        )
        if changes and record is not None:
            refresh_parents(expressions, rules, ctx.site, ctx.conn, ctx.entity, [record], ctx.now)
        return f"recomputed {', '.join(sorted(changes)) or 'nothing'} of {ctx.entity} {record_id}"
