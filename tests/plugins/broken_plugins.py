"""Plugins that fail to load: one raises in ``register`` after staging a function, one is no plugin."""

from __future__ import annotations

from plugins.api import Plugin, PluginContext
from rule_engine.expressions.functions import Function
from rule_engine.expressions.types import NUMBER


class Broken(Plugin):
    name = "broken"
    version = "0.1.0"

    def register(self, ctx: PluginContext) -> None:
        ctx.functions.register(Function("half_done", (), NUMBER, lambda: 1))
        raise RuntimeError("the broken plugin cannot start")


broken = Broken()
not_a_plugin = object()


class Clash(Plugin):
    """Registers a function whose name is a built-in's, and a field type that is fine: neither is applied."""

    name = "clash"
    version = "0.2.0"

    def register(self, ctx: PluginContext) -> None:
        ctx.functions.register(Function("upper", (NUMBER,), NUMBER, lambda v: v))
        ctx.functions.register(Function("clash_ok", (), NUMBER, lambda: 1))


clash = Clash()
