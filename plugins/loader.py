"""Finding plugins and registering them, once, at start-up (called from ``crm_platform.startup``).

Plugins come from three places, in this order (the first of a name wins):

* **bundled**: the sub-packages of this folder, ``plugins/<name>/`` with a ``plugin.py`` or an
  ``__init__.py`` exposing ``plugin``;
* **entry points** of installed distributions in the group ``lowcode_crm.plugins``
  (``name = package.module:plugin``);
* **modules** named in ``CRM_ACTION_PLUGINS`` that expose ``register_actions(registry)`` (the older
  action-only plugins, each run as a plugin of its own).

``CRM_PLUGINS`` (comma-separated names) enables only those; unset, every plugin found is enabled.
A plugin that cannot be imported, is not a plugin, or raises in ``register`` is skipped and logged
(see plugins.isolation); the platform starts without it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from form_renderer.presentation import PresentationRegistry, register_builtin_presentations
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.records.hooks import RecordHooks
from plugins.api import Plugin, PluginContext
from plugins.isolation import PluginStatus, guard_after_save, guard_before_delete, guard_before_save
from rule_engine.actions.base import ActionRegistry
from rule_engine.expressions.functions import AGGREGATES, FunctionRegistry

ENTRY_POINT_GROUP = "lowcode_crm.plugins"
BUNDLED = Path(__file__).resolve().parent
log = logging.getLogger("plugins")


@dataclass
class Registries:
    """The registries plugins add to; plugin hooks go to ``hooks`` before any other component's."""

    field_types: FieldTypeRegistry
    functions: FunctionRegistry
    actions: ActionRegistry
    hooks: RecordHooks
    presentations: PresentationRegistry = field(
        default_factory=lambda: register_builtin_presentations(PresentationRegistry())
    )


@dataclass
class Candidate:
    """A plugin found but not yet loaded."""

    name: str
    source: str
    load: Callable[[], Any]
    version: str = ""


@dataclass
class PluginSet:
    """The outcome of loading: every plugin's status, and the blueprints of the active ones."""

    statuses: list[PluginStatus] = field(default_factory=list)
    api_blueprints: list[tuple[str, Any]] = field(default_factory=list)
    page_blueprints: list[tuple[str, Any]] = field(default_factory=list)

    def status(self, name: str) -> PluginStatus | None:
        """Return the status of the plugin called ``name``."""
        return next((s for s in self.statuses if s.name == name), None)

    def active(self) -> dict[str, str]:
        """Return {name: version} of the active plugins."""
        return {s.name: s.version for s in self.statuses if s.status == "active"}


class _ActionModule(Plugin):
    """An older ``register_actions(registry)`` module, run as a plugin."""

    def __init__(self, module: ModuleType) -> None:
        self.name = module.__name__
        self.module = module

    def register(self, ctx: PluginContext) -> None:
        register = getattr(self.module, "register_actions", None)
        if register is None:
            raise TypeError(f"module {self.name} has no register_actions(registry) function")
        register(ctx.actions)


def _action_module(name: str) -> Plugin:
    return _ActionModule(importlib.import_module(name))


def _import_attr(module_name: str, attr: str = "plugin") -> Any:
    module = importlib.import_module(module_name)
    return getattr(module, attr, module)


def discover(config: Mapping[str, Any] | None = None) -> list[Candidate]:
    """Return the bundled plugins, the entry points and the CRM_ACTION_PLUGINS modules, in that order."""
    found: list[Candidate] = []
    for folder in sorted(
        p for p in BUNDLED.iterdir() if p.is_dir() and p.name.isidentifier() and not p.name.startswith("_")
    ):
        if (folder / "plugin.py").is_file():
            found.append(
                Candidate(folder.name, "bundled", partial(_import_attr, f"plugins.{folder.name}.plugin"))
            )
        elif (folder / "__init__.py").is_file():
            found.append(Candidate(folder.name, "bundled", partial(_import_attr, f"plugins.{folder.name}")))
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        version = entry.dist.version if entry.dist is not None else ""
        found.append(Candidate(entry.name, "entry point", entry.load, version))
    modules = str((config or {}).get("CRM_ACTION_PLUGINS") or os.environ.get("CRM_ACTION_PLUGINS") or "")
    for name in filter(None, (m.strip() for m in modules.split(","))):
        found.append(Candidate(name, "module", partial(_action_module, name)))
    return found


def enabled_names(config: Mapping[str, Any] | None) -> set[str] | None:
    """Return the names CRM_PLUGINS enables, or None when it is unset (everything found is enabled)."""
    raw = (config or {}).get("CRM_PLUGINS")
    if raw is None:
        raw = os.environ.get("CRM_PLUGINS")
    if raw is None or not str(raw).strip():
        return None
    return {name.strip() for name in str(raw).split(",") if name.strip()}


def as_plugin(obj: Any, name: str) -> Plugin:
    """Return the plugin an entry point or module gave: an instance, a class to instantiate, or ``module.plugin``."""
    if isinstance(obj, type):
        obj = obj()
    if not callable(getattr(obj, "register", None)):
        raise TypeError(f"'{name}' is not a plugin: it has no register(ctx) method")
    declared = getattr(obj, "name", "") or name
    if declared != name:
        raise TypeError(f"the plugin installed as '{name}' calls itself '{declared}'")
    plugin: Plugin = obj
    return plugin


def load_plugins(registries: Registries, config: Mapping[str, Any]) -> PluginSet:
    """Load and register every enabled plugin; failures are isolated, logged and listed."""
    enabled = enabled_names(config)
    result = PluginSet()
    for candidate in discover(config):
        status = PluginStatus(candidate.name, candidate.version, candidate.source)
        if result.status(candidate.name) is not None:
            status.status, status.error = (
                "failed",
                f"another plugin named '{candidate.name}' is already loaded",
            )
        elif enabled is not None and candidate.name not in enabled:
            status.status = "disabled"
        else:
            _load_one(candidate, status, registries, config, result)
        if status.status == "failed":
            log.error("plugin %s (%s) skipped: %s", status.name, status.source, status.error)
        result.statuses.append(status)
    for name in sorted((enabled or set()) - {s.name for s in result.statuses}):
        result.statuses.append(
            PluginStatus(name, status="missing", error="enabled in CRM_PLUGINS but not installed")
        )
        log.error("plugin %s is enabled in CRM_PLUGINS but not installed", name)
    return result


def _load_one(
    candidate: Candidate,
    status: PluginStatus,
    registries: Registries,
    config: Mapping[str, Any],
    result: PluginSet,
) -> None:
    try:
        plugin = as_plugin(candidate.load(), candidate.name)
        status.version = str(getattr(plugin, "version", "") or candidate.version or "0")
        ctx = PluginContext(candidate.name, config)
        plugin.register(ctx)
        _apply(ctx, status, registries)
    except Exception as exc:
        log.debug("plugin %s failed", candidate.name, exc_info=True)
        status.status, status.error = "failed", f"{type(exc).__name__}: {exc}"
        return
    result.api_blueprints += [(candidate.name, bp) for bp in ctx.api_blueprints]
    result.page_blueprints += [(candidate.name, bp) for bp in ctx.page_blueprints]


def _clashes(ctx: PluginContext, registries: Registries) -> list[str]:
    clashes = [f"field type '{n}'" for n in ctx.field_types.names() if n in registries.field_types]
    clashes += [
        f"function '{n}'"
        for n in ctx.functions.names()
        if registries.functions.get(n) is not None or n in AGGREGATES
    ]
    clashes += [f"action '{n}'" for n in ctx.actions.names() if n in registries.actions]
    clashes += [f"presentation '{n}'" for n in ctx.presentations.names() if n in registries.presentations]
    for staged in (ctx.field_types, ctx.functions, ctx.actions, ctx.presentations):
        names = staged.names()
        clashes += [f"{staged.kind} '{n}' (twice)" for n in sorted({n for n in names if names.count(n) > 1})]
    return clashes


def _apply(ctx: PluginContext, status: PluginStatus, registries: Registries) -> None:
    """Add everything the plugin staged, or nothing when a name is taken."""
    clashes = _clashes(ctx, registries)
    if clashes:
        raise ValueError("already registered: " + ", ".join(clashes))
    for field_type in ctx.field_types.items:
        registries.field_types.register(field_type)
    for function in ctx.functions.items:
        registries.functions.register(function)
    for action in ctx.actions.items:
        registries.actions.register(action)
    for presentation in ctx.presentations.items:
        registries.presentations.register(presentation)
    hooks = registries.hooks
    hooks.before_save += [guard_before_save(status, hook) for hook in ctx.hooks.before_save_hooks]
    hooks.after_save += [guard_after_save(status, hook) for hook in ctx.hooks.after_save_hooks]
    hooks.before_delete += [guard_before_delete(status, hook) for hook in ctx.hooks.before_delete_hooks]


def installed_plugins(config: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Return {name: version} of the plugins that load and register cleanly (for pack dependency checks).

    Each is registered into throwaway registries holding the built-ins, exactly as at start-up.
    """
    from metamodel.fieldtypes import register_builtin_field_types
    from rule_engine.actions.builtin import register_builtin_actions
    from rule_engine.expressions.functions import register_builtin_functions

    registries = Registries(
        register_builtin_field_types(FieldTypeRegistry()),
        register_builtin_functions(FunctionRegistry()),
        register_builtin_actions(ActionRegistry()),
        RecordHooks(),
    )
    return load_plugins(registries, dict(config or {})).active()


__all__ = [
    "ENTRY_POINT_GROUP",
    "Candidate",
    "PluginSet",
    "Registries",
    "discover",
    "enabled_names",
    "installed_plugins",
    "load_plugins",
]
