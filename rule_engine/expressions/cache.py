"""Compiled expressions cached per metadata version."""

from __future__ import annotations

import threading
from collections import OrderedDict

from metamodel.model import SiteModel
from rule_engine.expressions.compiler import CompiledExpression, compile_expression
from rule_engine.expressions.functions import FunctionRegistry


class ExpressionCache:
    """An LRU of compiled expressions keyed by (metadata version, entity, text)."""

    def __init__(self, registry: FunctionRegistry, size: int = 4096) -> None:
        self.registry = registry
        self.size = size
        self._items: OrderedDict[tuple[int, str, str], CompiledExpression] = OrderedDict()
        self._lock = threading.Lock()

    def compile(self, site: SiteModel, entity: str, text: str) -> CompiledExpression:
        """Return the compiled expression, compiling it on first use for this version."""
        key = (site.version, entity, text)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        compiled = compile_expression(text, site, entity, self.registry)
        with self._lock:
            self._items[key] = compiled
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return compiled
