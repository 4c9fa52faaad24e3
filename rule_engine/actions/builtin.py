"""The built-in action types and their registration."""

from __future__ import annotations

from rule_engine.actions.assign import AssignOwner
from rule_engine.actions.base import ActionRegistry
from rule_engine.actions.notify import Notify
from rule_engine.actions.records import CreateRecord, SetFields
from rule_engine.actions.transition import TransitionAction
from rule_engine.actions.webhook import Webhook

BUILTIN_ACTIONS = (SetFields, CreateRecord, TransitionAction, AssignOwner, Notify, Webhook)


def register_builtin_actions(registry: ActionRegistry) -> ActionRegistry:
    """Register every built-in action type; returns the registry for chaining."""
    for action in BUILTIN_ACTIONS:
        registry.register(action)
    return registry
