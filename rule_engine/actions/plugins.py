"""Action types added by plugins: a plugin module exposes ``register_actions(registry)``."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from rule_engine.actions.base import ActionRegistry


def load_action_plugins(registry: ActionRegistry, modules: Iterable[str]) -> list[str]:
    """Import each named module and let it register its actions; returns the modules loaded."""
    loaded = []
    for name in (m.strip() for m in modules):
        if not name:
            continue
        module = importlib.import_module(name)
        register = getattr(module, "register_actions", None)
        if register is None:
            raise ImportError(f"plugin module {name} has no register_actions(registry) function")
        register(registry)
        loaded.append(name)
    return loaded
