"""Statements built once per table (by id with link titles, insert, guarded update) and link titles from rows.

Building a statement with its values inlined (``insert().values(row)``) costs more than running it:
SQLAlchemy coerces every value into a bound literal and hashes them all for its compiled cache. The
statements here take their values as parameters, so one compiled form serves every call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Insert, RowMapping, Select, Update, bindparam

from metamodel.definitions import FieldDef
from metamodel.model import EntityModel, SiteModel
from metamodel.records.query import base_select

# Parameter names of the guarded update; field names start with a letter, so they never clash.
UPDATE_ID, UPDATE_VERSION = "_record_id", "_lock_version"


def link_targets(site: SiteModel, model: EntityModel) -> list[tuple[FieldDef, EntityModel]]:
    """Return each link field of ``model`` with the entity it points at (worked out once per entity)."""
    found: list[tuple[FieldDef, EntityModel]] | None = model.derived.get("link_targets")
    if found is None:
        found = [(d, site.entity(str(d.get("target")))) for d in model.column_fields() if d.type == "link"]
        model.derived["link_targets"] = found
    return found


def by_id_with_titles(site: SiteModel, model: EntityModel) -> Select[Any]:
    """Return ``SELECT`` of one record by ``_record_id`` with each linked record's title and number.

    One statement instead of one more per link field: each target is LEFT JOINed on its primary key
    and its title column is labelled ``_title_<i>`` and its record number ``_number_<i>``.
    """
    table = model.table
    statement = base_select(model)
    for index, (definition, target) in enumerate(link_targets(site, model)):
        linked = target.table.alias(f"_link_{index}")
        title_name = target.entity.title_field
        title = linked.c[title_name] if title_name else linked.c.record_no
        statement = statement.add_columns(
            title.label(f"_title_{index}"), linked.c.record_no.label(f"_number_{index}")
        ).join_from(table, linked, linked.c.id == table.c[definition.name], isouter=True)
    return statement.where(table.c.id == bindparam("_record_id"))


def joined_titles(site: SiteModel, model: EntityModel, row: Mapping[str, Any] | RowMapping) -> dict[str, str]:
    """Return the link titles of a row read with ``by_id_with_titles`` (as ``titles`` words them)."""
    titles: dict[str, str] = {}
    for index, (definition, target) in enumerate(link_targets(site, model)):
        value = row[definition.name]
        if value is not None:
            titles[definition.name] = _title_text(
                target, row[f"_title_{index}"], row[f"_number_{index}"], value
            )
    return titles


def _title_text(model: EntityModel, title: Any, number: str | None, record_id: Any) -> str:
    # The same words as RecordReads.titles: the title field as text, else the record number, else #id.
    title_name = model.entity.title_field
    text = model.types[title_name].to_text(model.fields[title_name], title) if title_name else ""
    return text or number or f"#{record_id}"


def insert_of(model: EntityModel) -> Insert:
    """Return the INSERT of a record, its values given as execution parameters."""
    return model.table.insert()


def guarded_update_of(model: EntityModel) -> Update:
    """Return the UPDATE of one record at the lock_version it was read at; values as parameters."""
    table = model.table
    return table.update().where(
        table.c.id == bindparam(UPDATE_ID), table.c.lock_version == bindparam(UPDATE_VERSION)
    )
