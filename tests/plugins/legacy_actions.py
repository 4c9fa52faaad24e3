"""An older action-only plugin module (``CRM_ACTION_PLUGINS``): ``register_actions(registry)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rule_engine.actions.base import Action, ActionContext


class Wave(Action):
    """Does nothing but say so in the action log."""

    type = "wave"

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        return f"waved at {ctx.entity} {ctx.record.get('id')}"


def register_actions(registry: Any) -> None:
    """Plugin entry point of the older kind."""
    registry.register(Wave)
