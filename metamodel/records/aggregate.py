"""Aggregate queries: up to two group-by dimensions and measures, as one SQL GROUP BY.

The query is checked against the entity (fields exist, the type can be grouped or measured that way,
encrypted fields are refused) and built as a single ``SELECT ... GROUP BY`` that the runtime runs with the
actor's row scope and field guards, so the database does the counting, never Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from metamodel.errors import BadQuery, Problem
from metamodel.fieldtypes.base import FieldTypeRegistry, ValueProblem
from metamodel.model import EntityModel
from metamodel.records.bucket_bounds import Span, probe_spans
from metamodel.records.buckets import BUCKETS, bucket, check_time_zone, fixed_offset_minutes
from metamodel.records.measures import SYSTEM_DATES, aggregate_duration, duration_measure, duration_value
from metamodel.records.measures import Measure as Measure  # re-exported: callers build measures from here
from metamodel.records.query import Filter, make_filter
from metamodel.records.tablescan import without_indexes
from metamodel.systables import user_org_units

MAX_DIMENSIONS = 2
MAX_GROUPS = 1000
FUNCTIONS = ("count", "sum", "avg", "min", "max", "count_distinct")
# Pseudo-dimensions every entity has: the owner and the owner's org unit.
OWNER, ORG_UNIT = "owner", "org_unit"


@dataclass(frozen=True)
class Dimension:
    """Group by a field (dates by ``bucket``), the owner or the owner's org unit."""

    field: str
    bucket: str | None = None

    @property
    def key(self) -> str:
        """The column name of this dimension in the result."""
        return f"{self.field}__{self.bucket}" if self.bucket else self.field


@dataclass
class AggregateQuery:
    """What a report asks of the database."""

    dimensions: list[Dimension] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=lambda: [Measure("count")])
    filters: list[Filter] = field(default_factory=list)
    sort: list[str] = field(default_factory=list)  # result keys, "-" first for descending
    limit: int = MAX_GROUPS
    time_zone: str = "UTC"

    def fields_used(self) -> dict[str, set[str]]:
        """Return the entity fields the query reads, by use (group, measure, filter)."""
        return {
            "group": {d.field for d in self.dimensions if d.field not in (OWNER, ORG_UNIT)},
            "measure": {m.field for m in self.measures if m.field}
            | {m.since for m in self.measures if m.since},
            "filter": {f.field for f in self.filters},
        }


@dataclass
class AggregateResult:
    """Rows of dimension and measure values, keyed by ``Dimension.key`` / ``Measure.key``."""

    dimensions: list[Dimension]
    measures: list[Measure]
    rows: list[dict[str, Any]]
    truncated: bool = False


def parse_aggregate(
    model: EntityModel, registry: FieldTypeRegistry, spec: Mapping[str, Any], param: str = "report"
) -> AggregateQuery:
    """Build an AggregateQuery from a report's ``query`` part; BadQuery names every problem's path."""
    problems: list[Problem] = []
    query = AggregateQuery()
    dims = spec.get("dimensions") or []
    if not isinstance(dims, list) or len(dims) > MAX_DIMENSIONS:
        problems.append(Problem(f"{param}.dimensions", f"at most {MAX_DIMENSIONS} dimensions", "dimensions"))
        dims = []
    for index, raw in enumerate(dims):
        where = f"{param}.dimensions[{index}]"
        try:
            query.dimensions.append(_dimension(model, registry, raw))
        except ValueProblem as exc:
            problems.append(Problem(where, exc.message, exc.code))
    measures = spec.get("measures") or [{"function": "count"}]
    query.measures = []
    for index, raw in enumerate(measures if isinstance(measures, list) else []):
        try:
            query.measures.append(_measure(model, registry, raw))
        except ValueProblem as exc:
            problems.append(Problem(f"{param}.measures[{index}]", exc.message, exc.code))
    if not query.measures and not problems:
        problems.append(Problem(f"{param}.measures", "give at least one measure", "measures"))
    for index, raw in enumerate(spec.get("filters") or []):
        where = f"{param}.filters[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("field"), str):
            problems.append(Problem(where, "a filter needs field, op and value", "filter"))
            continue
        try:
            query.filters.append(
                make_filter(model, registry, raw["field"], str(raw.get("op", "eq")), raw.get("value"))
            )
        except BadQuery as exc:
            problems += [Problem(where, p.message, p.code) for p in exc.problems]
    keys = [d.key for d in query.dimensions] + [m.key for m in query.measures]
    for index, item in enumerate(spec.get("sort") or []):
        if not isinstance(item, str) or item.lstrip("-") not in keys:
            problems.append(Problem(f"{param}.sort[{index}]", f"sort by one of: {', '.join(keys)}", "sort"))
        else:
            query.sort.append(item)
    limit = spec.get("limit", MAX_GROUPS)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_GROUPS:
        problems.append(Problem(f"{param}.limit", f"must be a whole number from 1 to {MAX_GROUPS}", "limit"))
    else:
        query.limit = limit
    zone = spec.get("time_zone") or "UTC"
    try:
        check_time_zone(str(zone))
        query.time_zone = str(zone)
    except ValueError as exc:
        problems.append(Problem(f"{param}.time_zone", str(exc), "time_zone"))
    if problems:
        raise BadQuery(f"the report on '{model.name}' is not valid", problems)
    return query


def _dimension(model: EntityModel, registry: FieldTypeRegistry, raw: Any) -> Dimension:
    if isinstance(raw, str):
        raw = {"field": raw}
    if not isinstance(raw, Mapping) or not isinstance(raw.get("field"), str):
        raise ValueProblem("a dimension names a field", "dimension")
    name, unit = raw["field"], raw.get("bucket")
    if name in (OWNER, ORG_UNIT):
        if unit:
            raise ValueProblem(f"'{name}' takes no date bucket", "bucket")
        return Dimension(name)
    temporal = name in SYSTEM_DATES and name in model.table.c
    if not temporal:
        definition = _field(model, name)
        field_type = registry.of(definition)
        if name in model.seals:
            raise ValueProblem(f"'{name}' is encrypted and cannot be grouped", "encrypted")
        if not field_type.groupable:
            raise ValueProblem(
                f"'{name}' ({definition.type}) cannot be a dimension; use a select, link, boolean or date field",
                "not_groupable",
            )
        temporal = field_type.temporal
    if temporal and unit not in BUCKETS:
        raise ValueProblem(f"a date dimension needs a bucket: one of {', '.join(BUCKETS)}", "bucket")
    if not temporal and unit:
        raise ValueProblem(f"'{name}' is not a date: it takes no bucket", "bucket")
    return Dimension(name, unit)


def _measure(model: EntityModel, registry: FieldTypeRegistry, raw: Any) -> Measure:
    if not isinstance(raw, Mapping) or raw.get("function") not in FUNCTIONS:
        raise ValueProblem(f"function must be one of {', '.join(FUNCTIONS)}", "function")
    function, name = str(raw["function"]), raw.get("field")
    if function == "count":
        if name:
            raise ValueProblem("count counts records and takes no field (use count_distinct)", "field")
        return Measure("count")
    if not isinstance(name, str):
        raise ValueProblem(f"{function} needs a field", "field")
    if "since" in raw:
        return duration_measure(model, registry, raw)
    definition = _field(model, name)
    if name in model.seals:
        raise ValueProblem(f"'{name}' is encrypted and cannot be aggregated", "encrypted")
    allowed = registry.of(definition).measures
    if function not in allowed:
        what = ", ".join(allowed) if allowed else "none"
        raise ValueProblem(
            f"{function} does not apply to '{name}' ({definition.type}); possible: {what}", "function"
        )
    return Measure(function, name)


def _field(model: EntityModel, name: str) -> Any:
    definition = model.fields.get(name)
    if definition is None or name not in model.table.c:
        raise ValueProblem(f"entity '{model.name}' has no field '{name}'", "unknown_field")
    return definition


def _is_datetime(model: EntityModel, name: str) -> bool:
    return name in SYSTEM_DATES or model.fields[name].type == "datetime"


def _leads_an_index(model: EntityModel, name: str) -> bool:
    if name in SYSTEM_DATES:
        return True
    definition = model.fields[name]
    if definition.indexed or definition.unique:
        return True
    return any(index["fields"][:1] == [name] for index in model.entity.doc.get("indexes") or [])


def bucket_spans(conn: Connection, model: EntityModel, query: AggregateQuery) -> dict[str, Span]:
    """Return the (min, max) of the datetime columns the query buckets, where knowing it makes SQLite faster.

    Worth it when the column leads an index (two seeks) or the zone has daylight saving time (a scan beats a
    Python call per row); PostgreSQL buckets in the zone natively and needs none.
    """
    if conn.dialect.name != "sqlite":
        return {}
    dst = fixed_offset_minutes(ZoneInfo(query.time_zone)) is None
    names = {
        d.field
        for d in query.dimensions
        if d.bucket and d.field not in (OWNER, ORG_UNIT) and _is_datetime(model, d.field)
    }
    return probe_spans(conn, [model.table.c[n] for n in sorted(names) if dst or _leads_an_index(model, n)])


def build_statement(
    model: EntityModel,
    registry: FieldTypeRegistry,
    query: AggregateQuery,
    conditions: Sequence[ColumnElement[bool]],
    dialect: str,
    spans: Mapping[str, Span] | None = None,
) -> Select[Any]:
    """Return the one GROUP BY statement of ``query`` under ``conditions`` (filters and row scope).

    ``spans`` (from ``bucket_spans``) lets SQLite bucket datetimes by comparison instead of per-row functions.
    """
    table = model.table
    zone = ZoneInfo(query.time_zone)
    columns: list[Any] = []
    statement_joins = False
    for dimension in query.dimensions:
        if dimension.field == OWNER:
            columns.append(table.c.owner_id.label(dimension.key))
        elif dimension.field == ORG_UNIT:
            columns.append(user_org_units.c.unit_id.label(dimension.key))
            statement_joins = True
        elif dimension.bucket:
            expression = bucket(
                table.c[dimension.field],
                dimension.bucket,
                is_datetime=_is_datetime(model, dimension.field),
                dialect=dialect,
                zone=zone,
                span=(spans or {}).get(dimension.field),
            )
            columns.append(expression.label(dimension.key))
        else:
            columns.append(table.c[dimension.field].label(dimension.key))
    group_by = list(columns)
    for measure in query.measures:
        columns += _measure_columns(model, measure, dialect)
    source: Any = table
    if statement_joins:
        source = table.outerjoin(user_org_units, user_org_units.c.user_id == table.c.owner_id)
    statement = select(*columns).select_from(source).where(*conditions)
    if group_by:
        statement = statement.group_by(*[c.element for c in group_by])
    sortable: dict[str, Any] = {c.key: c for c in group_by}
    for dimension in query.dimensions:
        order_of_options = _option_order(model, dimension.field) if not dimension.bucket else None
        if order_of_options is not None:
            sortable[dimension.key] = order_of_options
    for measure in query.measures:
        sortable[measure.key] = _order_expression(model, measure, dialect)
    order = []
    for item in query.sort or [d.key for d in query.dimensions]:
        target = sortable[item.lstrip("-")]
        order.append(target.desc() if item.startswith("-") else target.asc())
    statement = statement.order_by(*order).limit(query.limit + 1)
    if dialect == "sqlite" and not conditions and not statement_joins and _reads_columns(query):
        # Every record, a measure reading a column: a scan in table order beats index order plus a read per row.
        statement = without_indexes(statement, table)
    return statement


def _option_order(model: EntityModel, name: str) -> Any:
    # A select field sorts in the order its options are declared (a funnel: new, following, won, lost),
    # not by code; values no longer among the options come last.
    definition = model.fields.get(name)
    if definition is None or definition.type != "select":
        return None
    values = [str(option.get("value")) for option in definition.get("options") or []]
    if not values:
        return None
    return case(
        {value: index for index, value in enumerate(values)}, value=model.table.c[name], else_=len(values)
    )


def _reads_columns(query: AggregateQuery) -> bool:
    return any(measure.field is not None or measure.since for measure in query.measures)


def _order_expression(model: EntityModel, measure: Measure, dialect: str) -> Any:
    # Sorting needs no exact value, only the order: the database's own avg keeps it (also over scaled decimals).
    if measure.function == "count":
        return func.count()
    if measure.since:
        return aggregate_duration(model, measure, dialect)
    column = model.table.c[str(measure.field)]
    if measure.function == "count_distinct":
        return func.count(column.distinct())
    return getattr(func, measure.function)(column)  # sum, avg, min or max: checked by parse_aggregate


def _measure_columns(model: EntityModel, measure: Measure, dialect: str) -> list[Any]:
    if measure.function == "count":
        return [func.count().label(measure.key)]
    if measure.since:
        return [aggregate_duration(model, measure, dialect).label(measure.key)]
    column = model.table.c[str(measure.field)]
    if measure.function == "count_distinct":
        return [func.count(column.distinct()).label(measure.key)]
    if measure.function == "avg":
        # sum / count of values, divided in Python: exact for decimals (stored as scaled integers on SQLite).
        return [
            func.sum(column, type_=column.type).label(f"{measure.key}__sum"),
            func.count(column).label(f"{measure.key}__n"),
        ]
    # sum, min or max (checked by parse_aggregate), typed as the column so decimals and dates convert back.
    return [getattr(func, measure.function)(column, type_=column.type).label(measure.key)]


def shape_rows(query: AggregateQuery, rows: Sequence[Any]) -> AggregateResult:
    """Turn database rows into result rows (averages divided, buckets as ISO text, at most ``limit``)."""
    result = []
    for row in rows[: query.limit]:
        item: dict[str, Any] = {}
        for dimension in query.dimensions:
            value = row[dimension.key]
            item[dimension.key] = str(value)[:10] if dimension.bucket and value is not None else value
        for measure in query.measures:
            if measure.since:
                # A float on SQLite, a numeric on PostgreSQL: the same kind of number on both.
                item[measure.key] = duration_value(measure, row[measure.key])
            elif measure.function == "avg":
                total, count = row[f"{measure.key}__sum"], row[f"{measure.key}__n"]
                item[measure.key] = None if not count else Decimal(total) / Decimal(count)
            else:
                item[measure.key] = row[measure.key]
        result.append(item)
    return AggregateResult(query.dimensions, query.measures, result, truncated=len(rows) > query.limit)
