"""What a pool user sees: contact fields of records without owner masked, and never used to filter, sort or search.

A pool user is one whose roles give the ``claim`` permission on an entity with a pool but not
``read`` with scope ``all``: she sees the pool only through the claim permission. Masking alone
would leak through an oracle (``phone__eq=138...`` or sorting by phone tells the hidden value),
so for her the contact fields cannot be filtered or sorted on and are left out of the search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from metamodel.access.grants import Grants, bypasses
from metamodel.access.rules import ALL, CLAIM
from metamodel.definitions import FieldDef
from metamodel.errors import BadQuery, Problem
from metamodel.model import EntityModel
from metamodel.pool.config import pool_config
from metamodel.records.hooks import Actor

Masker = Callable[[FieldDef, Any], Any]


def pool_user_fields(model: EntityModel, actor: Actor) -> tuple[str, ...]:
    """Return the contact fields hidden from ``actor`` in ``model``'s pool (none when she sees them all)."""
    if bypasses(actor):
        return ()
    grants = actor.grants
    if not isinstance(grants, Grants) or not grants.enforced:
        return ()
    config = pool_config(model.entity)
    if config is None or not config.contact_fields or not grants.scopes(model.name, CLAIM):
        return ()
    if ALL in grants.scopes(model.name, "read"):
        return ()  # she may read every record anyway (a manager)
    return config.contact_fields


class PoolView:
    """The record view and field guard of the pool (registered on the runtime hooks at start-up)."""

    def __init__(self, mask: Masker) -> None:
        self.mask = mask

    def view(self, model: EntityModel, actor: Actor, record: dict[str, Any]) -> dict[str, Any]:
        """Mask the contact fields of a record nobody owns (a record view of the runtime)."""
        if "owner_id" not in record or record["owner_id"] is not None:
            return record  # owned, or a link-title stand-in (titles are never contact fields)
        hidden = pool_user_fields(model, actor)
        if not hidden:
            return record
        shown = dict(record)
        for name in hidden:
            if shown.get(name) not in (None, ""):
                shown[name] = self.mask(model.fields[name], shown[name])
        return shown

    def guard(self, use: Any) -> set[str]:
        """Refuse filters and sorts on hidden contact fields; leave them out of searches (a field guard)."""
        if use.purpose not in ("filter", "sort", "search"):
            return set()
        hidden = set(pool_user_fields(use.entity, use.actor)) & set(use.fields)
        if not hidden or use.purpose == "search":
            return hidden
        name = sorted(hidden)[0]
        path = "sort" if use.purpose == "sort" else name
        message = f"'{name}' is a contact field of the {use.entity.name} pool; it cannot be used to {use.purpose} by you"
        raise BadQuery(message, [Problem(path, message, "pool_hidden")])
