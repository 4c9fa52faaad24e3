"""Move the record through a transition of its workflow, through the workflow service when installed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from metamodel.model import SiteModel
from rule_engine.actions.base import Action, ActionContext, ActionFailed
from rule_engine.actions.values import reasons, source_id


def workflow_service(services: Mapping[str, Any]) -> Any:
    """Return the workflow service among the services or the rule engine's components, or None."""
    found = services.get("workflow")
    if found is not None:
        return found
    for component in getattr(services.get("rule_engine"), "components", ()):
        service = getattr(component, "service", None)
        if service is not None and hasattr(service, "transition"):
            return service
        if hasattr(component, "transition") and callable(component.transition):
            return component
    return None


class TransitionAction(Action):
    """``{"transition": "escalate", "comment": "..."}`` on the record that fired the rule."""

    type = "transition"
    retry_safe = True
    schema = {
        "type": "object",
        "required": ["transition"],
        "additionalProperties": False,
        "properties": {
            "transition": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
            "comment": {"type": "string", "maxLength": 2000},
        },
    }

    def check(self, config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
        """The entity's workflow must have the transition."""
        docs = site.bundle.docs("workflow")
        workflows = [docs[name] for name in sorted(docs) if docs[name].get("entity") == entity]
        if not workflows:
            yield "transition", f"entity '{entity}' has no workflow"
        elif config["transition"] not in {t["name"] for w in workflows for t in w.get("transitions", [])}:
            yield "transition", f"the workflow of {entity} has no transition '{config['transition']}'"

    def needs_source(self, config: Mapping[str, Any]) -> bool:
        """It changes the source record."""
        return True

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        """Ask the workflow service to perform the transition (its guards and roles apply)."""
        service = workflow_service(ctx.services)
        if service is None:
            raise ActionFailed("workflows are not installed, so no transition can run")
        record_id = source_id(ctx)
        name = str(config["transition"])
        with reasons():
            result = service.transition(
                ctx.runtime,
                ctx.entity,
                record_id,
                name,
                actor=ctx.actor,
                conn=ctx.conn,
                comment=str(config.get("comment", "")),
            )
        if isinstance(result, Mapping) and "id" in result:
            ctx.record = dict(result)
        return f"transition {name} of {ctx.entity} {record_id}"
