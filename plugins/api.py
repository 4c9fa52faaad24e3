"""The plugin API: a plugin has a name, a version and ``register(ctx)``; ``ctx`` offers the registries.

A plugin registers each addition through the registry of its kind, with that registry's own call::

    class Plugin(plugins.api.Plugin):
        name = "shop_tools"
        version = "1.2.0"

        def register(self, ctx: PluginContext) -> None:
            ctx.field_types.register(ColorType)               # metamodel FieldType subclass
            ctx.presentations.register(ColorPresentation)     # form_renderer Presentation of that type
            ctx.functions.register(Function("shout", ...))    # rule_engine.expressions Function
            ctx.actions.register(StampAction)                 # rule_engine.actions Action subclass
            ctx.hooks.before_save(check_codes)                # (SaveEvent) -> None
            ctx.hooks.after_save(notify_erp)
            ctx.hooks.before_delete(keep_contracts)           # (DeleteEvent) -> None
            ctx.add_api(api_blueprint)                        # Flask blueprint under /api/v1/plugins/<name>
            ctx.add_pages(pages_blueprint)                    # Flask blueprint under /plugins/<name>

    plugin = Plugin()

Registrations are staged and applied only when ``register`` returns: a plugin that raises adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from form_renderer.presentation.base import Presentation
from metamodel.fieldtypes.base import FieldType
from metamodel.records.hooks import DeleteHook, SaveHook
from rule_engine.actions.base import Action
from rule_engine.expressions.functions import Function

T = TypeVar("T")


class Plugin:
    """Base of plugins; subclasses set ``name`` and ``version`` and implement ``register``."""

    name: str = ""
    version: str = "0.0.0"
    description: str = ""

    def register(self, ctx: PluginContext) -> None:
        """Add this plugin's field types, functions, actions, hooks and blueprints to ``ctx``."""
        raise NotImplementedError


class Staged(Generic[T]):
    """Additions to one registry, held until the plugin's ``register`` has returned."""

    def __init__(self, kind: str, key: Callable[[T], str]) -> None:
        self.kind = kind
        self.key = key
        self.items: list[T] = []

    def register(self, item: T) -> None:
        """Add ``item`` (as the registry's own ``register`` would, once the plugin has registered)."""
        self.items.append(item)

    def names(self) -> list[str]:
        """Return the names of the staged items."""
        return [self.key(item) for item in self.items]


class StagedHooks:
    """Record hooks of a plugin: before/after save and before delete (see plugins.isolation)."""

    def __init__(self) -> None:
        self.before_save_hooks: list[SaveHook] = []
        self.after_save_hooks: list[SaveHook] = []
        self.before_delete_hooks: list[DeleteHook] = []

    def before_save(self, hook: SaveHook) -> SaveHook:
        """Run ``hook`` before each create and update; may change ``event.values`` or add problems."""
        self.before_save_hooks.append(hook)
        return hook

    def after_save(self, hook: SaveHook) -> SaveHook:
        """Run ``hook`` after each create and update, in the save's transaction."""
        self.after_save_hooks.append(hook)
        return hook

    def before_delete(self, hook: DeleteHook) -> DeleteHook:
        """Run ``hook`` before each delete; raising a CrmError refuses the delete."""
        self.before_delete_hooks.append(hook)
        return hook


def _field_type_name(cls: type[FieldType]) -> str:
    return str(cls.type)


def _presentation_name(cls: type[Presentation]) -> str:
    return str(cls.type)


def _function_name(function: Function) -> str:
    return function.name


def _action_name(cls: type[Action]) -> str:
    return str(cls.type)


class PluginContext:
    """What ``Plugin.register`` receives: the registries to add to, and the app's settings."""

    def __init__(self, plugin: str, config: Mapping[str, Any]) -> None:
        self.plugin = plugin
        self.config = config  # CRM_* settings; a plugin reads its own, e.g. CRM_<PLUGIN>_...
        self.field_types: Staged[type[FieldType]] = Staged("field type", _field_type_name)
        # How the plugin's field types are shown: display, list cell, form widget, filter widget.
        self.presentations: Staged[type[Presentation]] = Staged("presentation", _presentation_name)
        self.functions: Staged[Function] = Staged("function", _function_name)
        self.actions: Staged[type[Action]] = Staged("action", _action_name)
        self.hooks = StagedHooks()
        self.api_blueprints: list[Any] = []
        self.page_blueprints: list[Any] = []

    def add_api(self, blueprint: Any) -> None:
        """Serve a Flask blueprint's routes under /api/v1/plugins/<plugin>/ (API sign-in and token scopes apply)."""
        self.api_blueprints.append(blueprint)

    def add_pages(self, blueprint: Any) -> None:
        """Serve a Flask blueprint's pages under /plugins/<plugin>/ (the blueprint guards its own views)."""
        self.page_blueprints.append(blueprint)


__all__ = ["Plugin", "PluginContext", "Staged", "StagedHooks"]
