"""The record-runtime hooks of field-level security: a record view that hides and masks, and a field
guard that refuses writes, filters and sorts on fields the actor may not see or change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from metamodel.access.errors import AccessDenied
from metamodel.access.fields import HIDDEN, MASKED, FieldAccess
from metamodel.access.grants import Grants, bypasses, resolve_actor
from metamodel.access.masks import MaskStyles
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor, FieldUse, RecordHooks, authorized_fields

_NOTHING: Mapping[str, FieldAccess] = {}
_ALL_HIDDEN = FieldAccess(HIDDEN)


class FieldSecurity:
    """Applies the actor's field rules: hidden fields removed, masked ones masked, neither used to query."""

    def __init__(self, styles: MaskStyles | None = None) -> None:
        self.styles = styles or MaskStyles.default()

    def rules(self, actor: Actor, model: EntityModel) -> Mapping[str, FieldAccess]:
        """Return the restricted fields of ``model`` for a resolved ``actor`` (none for admins and the system)."""
        if bypasses(actor):
            return _NOTHING
        grants = actor.grants
        if not isinstance(grants, Grants):
            # Not resolved: nothing is known about her rules, so she sees no field at all.
            return {name: _ALL_HIDDEN for name in model.fields}
        return grants.field_rules(model.name)

    def view(self, model: EntityModel, actor: Actor, record: dict[str, Any]) -> dict[str, Any]:
        """Return ``record`` as the actor may see it (a record view of the runtime)."""
        rules = self.rules(actor, model)
        if not rules:
            return record
        shown = dict(record)
        for name, access in rules.items():
            if name not in shown or access.visible:
                continue
            definition = model.fields.get(name)
            if access.level == MASKED and definition is not None and definition.type != "child_table":
                shown[name] = self.styles.apply(definition, shown[name], access.mask)
            else:
                del shown[name]
        return shown

    def guard(self, use: FieldUse) -> set[str]:
        """Refuse filters, sorts and changes of restricted fields; keep hidden and masked ones out of searches."""
        rules = self.rules(use.actor, use.entity)
        covered = (
            authorized_fields(use.conn, use.entity.name, (use.before or {}).get("id"))
            if use.purpose == "write"
            else frozenset()
        )
        restricted = sorted(name for name in use.fields if name in rules and name not in covered)
        if not restricted:
            return set()
        entity = use.entity.name
        unseen = [name for name in restricted if not rules[name].visible]
        if use.purpose == "search":
            return set(unseen)
        if use.purpose == "replace":
            return set(restricted)  # a whole-record replace leaves the fields she may not write as they are
        if use.purpose in ("filter", "sort", "group", "measure"):
            if unseen:
                raise AccessDenied(
                    entity,
                    "read",
                    f"you may not {use.purpose} {entity} records by {', '.join(unseen)}: "
                    "the field is hidden or masked for you",
                )
            return set()
        # write: restricted fields are never writable; an unchanged value (a form or client sending
        # back what it was shown) is dropped, anything else refused.
        values = use.values or {}
        changed = [
            name for name in restricted if not self._unchanged(use, name, rules[name], values.get(name))
        ]
        if changed:
            raise AccessDenied(
                entity,
                "update" if use.before is not None else "create",
                f"you may not change {', '.join(changed)} of {entity} records: "
                + (
                    "the field is read-only for you"
                    if len(changed) == 1
                    else "the fields are read-only for you"
                ),
            )
        return set(restricted)

    def _unchanged(self, use: FieldUse, name: str, access: FieldAccess, value: Any) -> bool:
        before = use.before
        old = before.get(name) if before is not None else None
        if _empty(value) and _empty(old):
            return True
        if before is None or isinstance(value, list | dict):
            return False
        if value == old or (old is not None and not isinstance(old, bool) and str(value) == str(old)):
            return True
        definition = use.entity.fields.get(name)
        if access.level == MASKED and definition is not None:
            return bool(value == self.styles.apply(definition, old, access.mask))
        return False


def install_field_security(hooks: RecordHooks, security: FieldSecurity | None = None) -> FieldSecurity:
    """Register the field view and guard on the runtime hooks (once, at start-up, after access control)."""
    security = security or FieldSecurity()
    hooks.record_views.append(security.view)
    hooks.field_guards.append(security.guard)
    return security


def field_access(conn: Connection, actor: Actor, model: EntityModel) -> dict[str, FieldAccess]:
    """Return what ``actor`` may do with each restricted field of ``model`` (for forms, pages and the API)."""
    return dict(FieldSecurity().rules(resolve_actor(actor, conn), model))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []
