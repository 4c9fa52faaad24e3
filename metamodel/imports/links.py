"""Resolving a link cell to a record id by the target's title (or a chosen key field) or "#id"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from metamodel.imports.normalise import normalise
from metamodel.model import SiteModel

Scope = Callable[[str], list[Any]]  # entity -> WHERE clauses of the rows the importing user may read


class LinkNotFound(ValueError):
    """The cell names no record, or more than one."""


class LinkResolver:
    """Looks link cells up in one transaction; each target's values are read once and cached.

    Only records the importing user may read are found, so a title tells nothing about the others.
    """

    def __init__(self, site: SiteModel, conn: Connection, scope: Scope) -> None:
        self.site = site
        self.conn = conn
        self.scope = scope
        self._maps: dict[tuple[str, str], dict[str, list[int]]] = {}

    def resolve(self, entity: str, by: str | None, text: str) -> int:
        """Return the id of the one ``entity`` record whose ``by`` field (default: title) matches ``text``."""
        model = self.site.entity(entity)
        field_name = by or model.entity.title_field
        if text.startswith("#") and text[1:].isdigit():
            return int(text[1:])
        if not field_name or field_name not in model.fields:
            raise LinkNotFound(f"{entity} has no title field: write '#<id>'")
        found = self._map(entity, field_name).get(normalise(model.fields[field_name], text), [])
        if not found:
            raise LinkNotFound(f"no {entity} record '{text}'")
        if len(found) > 1:
            raise LinkNotFound(f"'{text}' matches {len(found)} {entity} records: use a key field or '#<id>'")
        return found[0]

    def forget(self, entity: str) -> None:
        """Drop the cache of ``entity`` (records of it were just written)."""
        for key in [k for k in self._maps if k[0] == entity]:
            del self._maps[key]

    def _map(self, entity: str, field_name: str) -> dict[str, list[int]]:
        key = (entity, field_name)
        found = self._maps.get(key)
        if found is None:
            model = self.site.entity(entity)
            f = model.fields[field_name]
            column = model.table.c[field_name]
            found = {}
            statement = select(model.table.c.id, column).where(*self.scope(entity))
            for record_id, value in self.conn.execute(statement):
                found.setdefault(normalise(f, value), []).append(int(record_id))
            self._maps[key] = found
        return found
