"""SQLite: reading a whole table without its indexes (``FROM t AS t NOT INDEXED``) where that is faster.

A report over every record that groups by an indexed field (the state) and sums another makes SQLite's
planner walk the index to spare a sort, then fetch each row by id for the summed column: a random read per
record. Reading the table in order and sorting the few group keys is about a third faster at a million
records (measured with bench/reports.py). PostgreSQL's planner weighs this itself, so the alias renders as
a plain alias there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.sql.util import ClauseAdapter


class NotIndexed(Alias):
    """An alias of a table under its own name that SQLite reads without an index."""

    inherit_cache = True


@compiles(NotIndexed, "sqlite")
def _sqlite(element: NotIndexed, compiler: Any, **kw: Any) -> str:
    text: str = compiler.visit_alias(element, **kw)
    return f"{text} NOT INDEXED" if kw.get("asfrom") else text


@compiles(NotIndexed)
def _other(element: NotIndexed, compiler: Any, **kw: Any) -> str:
    text: str = compiler.visit_alias(element, **kw)
    return text


def without_indexes(statement: Select[Any], table: Table) -> Select[Any]:
    """Return ``statement`` reading ``table`` as a whole, without an index (SQLite)."""
    alias = NotIndexed._construct(table, name=table.name)
    adapted: Select[Any] = ClauseAdapter(alias).traverse(statement)
    return adapted
