"""The rule engine facade: rule components (field rules, workflows, triggers) plug into the record runtime.

Each component checks its part of the metadata when a version is published and installs its hooks once
at start-up; compiled rules are cached per metadata version inside the component.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from metamodel.definitions import Bundle
from metamodel.errors import Problem
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.model import SiteModel
from metamodel.records.hooks import RecordHooks
from rule_engine.actions.base import ActionRegistry


class RuleComponent(Protocol):
    """One kind of rule: how it is checked at publish time and how it hooks into record writes."""

    name: str

    def check(self, bundle: Bundle, site: SiteModel, engine: RuleEngine) -> Iterable[Problem]:
        """Yield problems of this component's metadata in ``bundle``."""
        ...

    def install(self, hooks: RecordHooks, engine: RuleEngine) -> None:
        """Register this component's record hooks."""
        ...


@dataclass
class RuleEngine:
    """Holds the registries and components; built once by the start-up code."""

    field_types: FieldTypeRegistry
    functions: Any  # rule_engine.expressions.functions.FunctionRegistry
    actions: ActionRegistry
    clock: Callable[[], dt.datetime]
    services: Mapping[str, Any] = field(default_factory=dict)
    components: list[RuleComponent] = field(default_factory=list)

    def add(self, component: RuleComponent) -> None:
        """Add a rule component (called at start-up)."""
        self.components.append(component)

    def check_bundle(self, bundle: Bundle) -> list[Problem]:
        """Check every component's rules against a bundle about to be published."""
        site = SiteModel(0, bundle, self.field_types)
        problems: list[Problem] = []
        for component in self.components:
            problems += list(component.check(bundle, site, self))
        return problems

    def install(self, hooks: RecordHooks) -> None:
        """Install every component's hooks into the record runtime's hooks."""
        for component in self.components:
            component.install(hooks, self)

    def component(self, name: str) -> RuleComponent:
        """Return the component called ``name``."""
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)
