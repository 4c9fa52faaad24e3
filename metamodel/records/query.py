"""List queries: per-type filters, search, a sort key and keyset or offset paging."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, false, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from metamodel.crypto import records as sealed
from metamodel.definitions import FieldDef
from metamodel.errors import BadQuery, Problem
from metamodel.fieldtypes.base import FieldType, FieldTypeRegistry, ValueProblem
from metamodel.model import EntityModel

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# Reserved query-string keys; everything else of the form field__op is a filter.
MAX_OFFSET = 10_000
OFFSET_TOO_LARGE = "offset_too_large"
OFFSET_MESSAGE = (
    "offset may be at most {limit}; to go further, page with the cursor (next_cursor → cursor), "
    "which stays fast at any depth"
)
CONTROL_KEYS = frozenset({"q", "sort", "limit", "offset", "cursor", "page", "count", "lang", "format"})

# System columns can be filtered and sorted like fields of these types.
_SYSTEM_FIELDS = {
    "id": {"type": "integer"},
    "record_no": {"type": "text"},
    "owner_id": {"type": "integer"},
    "created_by": {"type": "integer"},
    "updated_by": {"type": "integer"},
    "created_at": {"type": "datetime"},
    "updated_at": {"type": "datetime"},
    "parent_id": {"type": "integer"},
}


@dataclass(frozen=True)
class Filter:
    """One condition: field, operator and the parsed value."""

    field: str
    op: str
    value: Any


@dataclass
class ListQuery:
    """What a list asks for; build it with ``parse_list_args`` or directly."""

    filters: list[Filter] = field(default_factory=list)
    search: str | None = None
    sort: str = "-id"
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cursor: str | None = None
    count: bool = False


def lookup_field(
    model: EntityModel, registry: FieldTypeRegistry, name: str, param: str | None = None
) -> tuple[FieldDef, FieldType]:
    """Return the definition and type of a field or filterable system column; problems name ``param``."""
    if name in model.fields:
        definition = model.fields[name]
    elif name in _SYSTEM_FIELDS and name in model.table.c:
        definition = FieldDef({"id": name, "name": name, **_SYSTEM_FIELDS[name]})
    else:
        raise BadQuery(
            f"entity '{model.name}' has no field '{name}'",
            [Problem(param or name, f"unknown field '{name}'", "unknown_field")],
        )
    return definition, registry.of(definition)


def parse_list_args(
    model: EntityModel, registry: FieldTypeRegistry, args: Mapping[str, list[str]]
) -> ListQuery:
    """Build a ListQuery from query-string arguments (each key maps to its list of values)."""
    query = ListQuery()
    problems: list[Problem] = []
    for key, values in args.items():
        if key in CONTROL_KEYS:
            continue
        name, _, op = key.partition("__")
        op = op or "eq"
        for raw in values:
            try:
                query.filters.append(make_filter(model, registry, name, op, raw))
            except BadQuery as exc:
                problems += exc.problems or [Problem(key, exc.message, exc.code)]
    query.search = (_last(args, "q") or "").strip()[:200] or None
    query.sort = _last(args, "sort") or model.entity.doc.get("default_sort") or "-id"
    query.cursor = _last(args, "cursor")
    query.count = (_last(args, "count") or "").lower() in ("1", "true", "yes")
    query.limit = _int_arg(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT, problems)
    page = _int_arg(args, "page", 1, 1, 10_000, problems)
    query.offset = _int_arg(args, "offset", (page - 1) * query.limit, 0, 10**9, problems)
    if query.offset > MAX_OFFSET:
        # A deep OFFSET reads and throws away every row before the page; the cursor seeks straight to it.
        problems.append(Problem("offset", OFFSET_MESSAGE.format(limit=MAX_OFFSET), OFFSET_TOO_LARGE))
        query.offset = 0
    try:
        sort_field(model, registry, query.sort)
    except BadQuery as exc:
        problems += exc.problems
    if problems:
        raise BadQuery("the list query is not valid", problems)
    return query


def _last(args: Mapping[str, list[str]], key: str) -> str | None:
    values = args.get(key)
    return values[-1] if values else None


def _int_arg(
    args: Mapping[str, list[str]], key: str, default: int, low: int, high: int, problems: list[Problem]
) -> int:
    raw = _last(args, key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(Problem(key, "must be a whole number", "type"))
        return default
    if not low <= value <= high:
        problems.append(Problem(key, f"must be between {low} and {high}", "range"))
        return default
    return value


def make_filter(model: EntityModel, registry: FieldTypeRegistry, name: str, op: str, raw: Any) -> Filter:
    """Check a filter against the field's type and parse its value."""
    key = f"{name}__{op}"
    definition, field_type = lookup_field(model, registry, name, key)
    sealed.check_operator(
        model, name, op, key
    )  # encrypted fields: exact matches through the search hash only
    if op not in field_type.operators:
        allowed = ", ".join(field_type.operators) or "none"
        raise BadQuery(
            f"{key}: operator not supported",
            [
                Problem(
                    key,
                    f"operator '{op}' is not supported for a {definition.type} field; use one of: {allowed}",
                    "operator",
                )
            ],
        )
    try:
        value = field_type.filter_value(definition, op, raw)
    except ValueProblem as exc:
        raise BadQuery(f"{key}: {exc.message}", [Problem(key, exc.message, "value")]) from None
    return Filter(name, op, value)


def sort_field(model: EntityModel, registry: FieldTypeRegistry, sort: str) -> tuple[str, bool]:
    """Return (field name, descending) of a sort key such as ``-created_at``."""
    descending = sort.startswith("-")
    name = sort.lstrip("-+")
    definition, field_type = lookup_field(model, registry, name, "sort")
    sealed.check_sort(model, name)
    if not field_type.sortable:
        message = f"a {definition.type} field cannot be sorted"
        raise BadQuery(f"sort: {message}", [Problem("sort", message, "sort")])
    return name, descending


def search_fields(model: EntityModel) -> list[FieldDef]:
    """Return the fields a full-text search looks in: the searchable ones, else the title field."""
    searchable = [f for f in model.column_fields() if f.searchable]
    if not searchable and model.entity.title_field:
        searchable = [model.field(model.entity.title_field)]
    return searchable


def where_clauses(
    model: EntityModel,
    registry: FieldTypeRegistry,
    query: ListQuery,
    unsearchable: set[str] | frozenset[str] = frozenset(),
) -> list[ColumnElement[bool]]:
    """Return the SQL conditions of the query's filters and search (which skips ``unsearchable`` fields)."""
    table = model.table
    clauses: list[ColumnElement[bool]] = []
    for item in query.filters:
        definition, field_type = lookup_field(model, registry, item.field)
        clause = sealed.filter_clause(model, definition, item.op, item.value)
        if clause is None:
            clause = field_type.filter_clause(definition, table.c[item.field], item.op, item.value)
        clauses.append(clause)
    if query.search:
        searchable = [f for f in search_fields(model) if f.name not in unsearchable]
        parts = [_search_part(model, registry, f, query.search) for f in searchable]
        clauses.append(or_(*parts) if parts else false())
    return clauses


def _search_part(
    model: EntityModel, registry: FieldTypeRegistry, definition: FieldDef, text: str
) -> ColumnElement[bool]:
    clause = sealed.search_clause(model, definition, text)  # encrypted fields: whole values, through the hash
    if clause is None:
        clause = registry.of(definition).search_clause(definition, model.table.c[definition.name], text)
    return clause


def order_and_page(
    model: EntityModel,
    registry: FieldTypeRegistry,
    statement: Select[Any],
    query: ListQuery,
    dialect_name: str,
) -> Select[Any]:
    """Apply sort, keyset cursor (when given) or offset, and the limit (plus one, to detect more)."""
    name, descending = sort_field(model, registry, query.sort)
    column, id_column = model.table.c[name], model.table.c.id
    if name == "id":
        statement = statement.order_by(id_column.desc() if descending else id_column.asc())
    else:
        order = [column.desc(), id_column.desc()] if descending else [column.asc(), id_column.asc()]
        statement = statement.order_by(*order)
    if query.cursor:
        statement = statement.where(_after_cursor(model, registry, query, name, descending, dialect_name))
    elif query.offset:
        statement = statement.offset(query.offset)
    return statement.limit(query.limit + 1)


def _after_cursor(
    model: EntityModel,
    registry: FieldTypeRegistry,
    query: ListQuery,
    name: str,
    descending: bool,
    dialect: str,
) -> ColumnElement[bool]:
    definition, field_type = lookup_field(model, registry, name)
    value, last_id = decode_cursor(query.cursor or "", definition, field_type)
    column, id_column = model.table.c[name], model.table.c.id
    id_after = id_column < last_id if descending else id_column > last_id
    if name == "id":
        return id_after
    # SQLite sorts NULLs as smallest, PostgreSQL as largest; the keyset condition follows suit.
    nulls_first = (dialect == "sqlite") != descending
    if value is None:
        after_nulls = and_(column.is_(None), id_after)
        return or_(after_nulls, column.is_not(None)) if nulls_first else after_nulls
    value = literal(value, column.type)  # a bind parameter: SQL cannot order by comparing to a bare True
    beyond = column < value if descending else column > value
    # The redundant bound lets the database seek its index to the cursor instead of walking (and
    # discarding) every row before it, so deep pages cost what the first page costs.
    bound = column <= value if descending else column >= value
    condition = and_(bound, or_(beyond, and_(column == value, id_after)))
    # NULLs sort after the cursor's value only when they sort last, and only a nullable column has any.
    return condition if nulls_first or not column.nullable else or_(condition, column.is_(None))


def encode_cursor(field_type: FieldType, definition: FieldDef, value: Any, record_id: int) -> str:
    """Return an opaque cursor pointing just after a row."""
    payload = json.dumps([field_type.serialize(definition, value), record_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, definition: FieldDef, field_type: FieldType) -> tuple[Any, int]:
    """Parse a cursor made by ``encode_cursor``; BadQuery when it was tampered with."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw_value, record_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(record_id, int):
            raise ValueError
        return field_type.prepare(definition, raw_value), record_id
    except (ValueError, TypeError, ValueProblem, json.JSONDecodeError):
        raise BadQuery(
            "cursor is not valid", [Problem("cursor", "not a cursor from this list", "cursor")]
        ) from None


def base_select(model: EntityModel) -> Select[Any]:
    """Return ``SELECT * FROM <entity table>``."""
    return select(model.table)
