"""Global search: one text over many entities, each searched by the runtime's own scoped list query.

Each entity goes through ``RecordReads.list`` with ``q``: the actor's row scope, shares and field
rules apply exactly as on that entity's list, so a field hidden or masked from her is never searched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from metamodel.errors import CrmError
from metamodel.records.base import SYSTEM
from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery
from metamodel.records.reads import Page

MAX_TEXT = 200


@dataclass
class EntityHits:
    """The first matches in one entity (``more``: its list holds further matches)."""

    entity: str
    items: list[dict[str, Any]]
    more: bool


def search_entities(
    runtime: Any, entities: Iterable[str], text: str, actor: Actor = SYSTEM, per_entity: int = 5
) -> list[EntityHits]:
    """Return the matches of ``text`` in each of ``entities`` the actor may read, in the order given.

    An entity she may not read, or whose search she may not run, simply has no hits.
    """
    text = text.strip()[:MAX_TEXT]
    if not text:
        return []
    found = []
    with runtime.transaction() as conn:
        actor = runtime.resolve(actor, conn)
        for entity in entities:
            try:
                page: Page = runtime.list(entity, ListQuery(search=text, limit=per_entity), actor, conn=conn)
            except CrmError:
                continue
            if page.items:
                found.append(EntityHits(entity, page.items, page.has_more))
    return found
