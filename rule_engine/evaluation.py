"""Rule expressions as triggers and actions use them: compiled once per metadata version, then evaluated."""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam
from sqlalchemy.sql.elements import ColumnElement

from metamodel.model import SiteModel
from metamodel.records.query import base_select
from metamodel.records.values import serialize_row
from rule_engine.expressions import (
    CompiledExpression,
    FunctionRegistry,
    RecordContext,
    compile_expression,
    register_builtin_functions,
    to_sql,
)
from rule_engine.expressions.operations import local_zone

# The by-id SELECT of each entity table, built once (a table of a newer metadata version is a new key).
_BY_ID: weakref.WeakKeyDictionary[Table, Select[Any]] = weakref.WeakKeyDictionary()


class Expressions:
    """Compiles expression texts against a site's entities, caching them per metadata version."""

    def __init__(self, functions: FunctionRegistry | None = None) -> None:
        self.functions = (
            functions if functions is not None else register_builtin_functions(FunctionRegistry())
        )
        self._cache: weakref.WeakKeyDictionary[SiteModel, dict[tuple[str, str], CompiledExpression]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def compile(self, site: SiteModel, entity: str, text: str) -> CompiledExpression:
        """Return the compiled expression; raises ExpressionError with the position of a mistake."""
        key = (entity, text)
        with self._lock:
            per_site = self._cache.setdefault(site, {})
            found = per_site.get(key)
        if found is None:
            found = compile_expression(text, site, entity, self.functions)
            with self._lock:
                per_site[key] = found
        return found

    def evaluate(
        self,
        site: SiteModel,
        entity: str,
        text: str,
        conn: Connection,
        record: Mapping[str, Any],
        now: dt.datetime,
    ) -> Any:
        """Evaluate ``text`` for one record (aggregates over linked records read through ``conn``)."""
        compiled = self.compile(site, entity, text)
        now = site.local(now)  # today() and dates count in the site's time zone
        with local_zone(site.time_zone):
            if compiled.record_only:
                return compiled.evaluate_record(record, now)
            context = RecordContext(conn, site, entity, dict(record), now, self.functions)
            return compiled.evaluate(context)

    def holds(
        self,
        site: SiteModel,
        entity: str,
        text: str | None,
        conn: Connection,
        record: Mapping[str, Any],
        now: dt.datetime,
    ) -> bool:
        """Whether a condition holds; an absent condition always holds."""
        if not text:
            return True
        return bool(self.evaluate(site, entity, text, conn, record, now))

    def to_sql(self, site: SiteModel, entity: str, text: str, now: dt.datetime) -> ColumnElement[bool] | None:
        """Return the condition as SQL over the entity's table, or None when it cannot be translated."""
        compiled = self.compile(site, entity, text)
        return to_sql(compiled, site.entity(entity), site.local(now), site)

    def fields_used(self, site: SiteModel, entity: str, text: str | None) -> list[str]:
        """Return the names of the record's fields a condition reads, in a stable order."""
        if not text:
            return []
        return sorted(str(name) for name in (self.compile(site, entity, text).fields_used or ()))


_shared: dict[int, tuple[Any, Expressions]] = {}
_shared_lock = threading.Lock()


def shared_expressions(functions: Any = None) -> Expressions:
    """Return the one Expressions (with its compile cache) of a function registry."""
    with _shared_lock:
        found = _shared.get(id(functions))
        if found is None or found[0] is not functions:
            found = (functions, Expressions(functions))
            _shared[id(functions)] = found
        return found[1]


def expressions_of(services: Mapping[str, Any]) -> Expressions:
    """Return the Expressions for actions, from services set up by the trigger component or a default."""
    found = services.get("expressions")
    if isinstance(found, Expressions):
        return found
    functions = services.get("functions")
    if functions is None and services.get("rule_engine") is not None:
        functions = services["rule_engine"].functions
    return shared_expressions(functions)


def load_record(conn: Connection, site: SiteModel, entity: str, record_id: int) -> dict[str, Any] | None:
    """Return the stored record (JSON form, no child lines), or None when it does not exist."""
    model = site.entity(entity)
    statement = _BY_ID.get(model.table)
    if statement is None:
        statement = _BY_ID[model.table] = base_select(model).where(model.table.c.id == bindparam("_load_id"))
    row = conn.execute(statement, {"_load_id": record_id}).mappings().first()
    return None if row is None else serialize_row(model, row)


def plain(value: Any) -> Any:
    """Return ``value`` made of JSON-like Python values only (safe for templates and payloads)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return str(value)
