"""A roll-up as a correlated SQL subquery of its parent's table, for set-based backfills."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from metamodel.model import EntityModel, SiteModel
from rule_engine.evaluation import Expressions
from rule_engine.expressions import to_sql
from rule_engine.expressions.sqlvalue import column_scale
from rule_engine.fieldrules.spec import Rollup


def rollup_sql(
    expressions: Expressions,
    site: SiteModel,
    model: EntityModel,
    rollup: Rollup,
    now: dt.datetime,
    dialect: str,
) -> Any:
    """Return the roll-up's value for each row of ``model``'s table as SQL, or None when it has no exact SQL form."""
    parent = model.table
    if rollup.via_link:
        entity, link = rollup.split()
        source = site.entity(entity)
        where = [source.table.c[link] == parent.c.id]
    else:
        source = site.entity(str(model.fields[rollup.source].get("child_entity")))
        where = [source.table.c.parent_id == parent.c.id, source.table.c.parent_field == rollup.source]
    if rollup.filter:
        condition = to_sql(expressions.compile(site, source.name, rollup.filter), source, now, site)
        if condition is None:
            return None
        where.append(condition)
    table = source.table
    if rollup.kind == "count":
        return select(func.count()).select_from(table).where(*where).correlate(parent).scalar_subquery()
    if rollup.field is None or rollup.field in source.seals or rollup.target in model.seals:
        return None
    column, target = table.c[rollup.field], parent.c[rollup.target]
    same = column_scale(column) == column_scale(target) and type(column.type) is type(target.type)
    if not same and (dialect == "sqlite" or column_scale(column) is None or column_scale(target) is None):
        return None  # different storage (a scaled integer of another scale, another type): in Python
    aggregate = {"sum": func.sum(column), "min": func.min(column), "max": func.max(column)}[rollup.kind]
    value: Any = select(aggregate).where(*where).correlate(parent).scalar_subquery()
    if rollup.kind == "sum":
        value = func.coalesce(value, 0)
    if not same:
        value = func.round(value, column_scale(target))
    return value
