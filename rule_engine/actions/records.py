"""Actions that write records: set fields of the source record, create a related record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from metamodel.model import SiteModel
from rule_engine.actions.base import Action, ActionContext
from rule_engine.actions.values import (
    VALUES_SCHEMA,
    check_values,
    reasons,
    resolve_values,
    source_id,
    value_expressions,
)


class SetFields(Action):
    """Set fields of the record that fired the rule: ``{"values": {"status": "won", "due": {"expr": ...}}}``."""

    type = "set_fields"
    retry_safe = True
    schema = {
        "type": "object",
        "required": ["values"],
        "additionalProperties": False,
        "properties": {"values": VALUES_SCHEMA},
    }

    def check(self, config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
        """Fields must exist on the entity and literals must be valid for them."""
        return check_values(config["values"], site.entity(entity), "values")

    def expressions(self, config: Mapping[str, Any], entity: str) -> Iterable[tuple[str, str, str]]:
        """Expression values, evaluated on the source record."""
        return value_expressions(config["values"], "values", entity)

    def needs_source(self, config: Mapping[str, Any]) -> bool:
        """It writes the source record."""
        return True

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        """Update the source record; later actions see the new values."""
        record_id = source_id(ctx)
        values = resolve_values(config["values"], ctx)
        with reasons():
            ctx.record = ctx.runtime.update(ctx.entity, record_id, values, actor=ctx.actor, conn=ctx.conn)
        return f"set {', '.join(sorted(values))} of {ctx.entity} {record_id}"


class CreateRecord(Action):
    """Create a record (a follow-up task, a care ticket) linked back to the source by ``link_field``."""

    type = "create_record"
    retry_safe = True
    schema = {
        "type": "object",
        "required": ["entity"],
        "additionalProperties": False,
        "properties": {
            "entity": {"type": "string"},
            "values": VALUES_SCHEMA,
            "link_field": {"type": "string"},
            "inherit_owner": {"type": "boolean"},
        },
    }

    def check(self, config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
        """The target must be a top-level entity and the link field must point back to the source."""
        target = site.entities.get(config["entity"])
        if target is None:
            yield "entity", f"entity '{config['entity']}' does not exist"
            return
        if target.entity.is_child:
            yield "entity", f"'{target.name}' records only exist as lines of their parent"
            return
        link = config.get("link_field")
        if link is not None:
            definition = target.fields.get(link)
            if definition is None or definition.type != "link" or definition.get("target") != entity:
                yield "link_field", f"'{link}' must be a link field of {target.name} pointing to {entity}"
        yield from check_values(config.get("values") or {}, target, "values")

    def expressions(self, config: Mapping[str, Any], entity: str) -> Iterable[tuple[str, str, str]]:
        """Expression values, evaluated on the source record."""
        return value_expressions(config.get("values") or {}, "values", entity)

    def needs_source(self, config: Mapping[str, Any]) -> bool:
        """Only when linking back to the source."""
        return bool(config.get("link_field"))

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        """Create the record inside the firing's transaction (its own triggers fire too)."""
        values = resolve_values(config.get("values") or {}, ctx)
        link = config.get("link_field")
        if link:
            values[link] = source_id(ctx)
        owner = ctx.record.get("owner_id")
        if config.get("inherit_owner", True) and "owner_id" not in values and owner is not None:
            values["owner_id"] = owner
        with reasons():
            created = ctx.runtime.create(config["entity"], values, actor=ctx.actor, conn=ctx.conn)
        return f"created {config['entity']} {created['id']}"
