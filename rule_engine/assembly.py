"""Assembling the rule engine: its registries and components, in one explicit place.

The platform's start-up code and the test world both call ``build_rule_engine``; a new rule component
is added to ``COMPONENTS`` here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.records.hooks import RecordHooks
from rule_engine.actions.base import Action, ActionRegistry
from rule_engine.actions.builtin import register_builtin_actions
from rule_engine.engine import RuleComponent, RuleEngine
from rule_engine.expressions import FunctionRegistry, register_builtin_functions
from rule_engine.fieldrules import FieldRuleComponent
from rule_engine.migrations import VERSIONS
from rule_engine.triggers import TriggerComponent
from rule_engine.workflow import WorkflowComponent

# Migrations folders of the rule engine's own tables, for ``metamodel.database.upgrade_database``.
MIGRATIONS = (VERSIONS,)

# The rule components, in the order their hooks run on every save.
COMPONENTS: tuple[Callable[[], RuleComponent], ...] = (
    FieldRuleComponent,
    WorkflowComponent,  # before TriggerComponent, which listens to its transitions
    TriggerComponent,
)


def build_rule_engine(
    field_types: FieldTypeRegistry,
    clock: Callable[[], dt.datetime],
    *,
    services: Mapping[str, Any] | None = None,
    actions: Iterable[type[Action]] = (),
    functions: FunctionRegistry | None = None,
    registry: ActionRegistry | None = None,
) -> RuleEngine:
    """Return a rule engine with the built-in functions, actions and every component of ``COMPONENTS``.

    ``functions`` and ``registry`` (actions) may come filled already, with the built-ins and what
    plugins added (see plugins.loader); by default they hold the built-ins.
    """
    registry = registry if registry is not None else register_builtin_actions(ActionRegistry())
    for action in actions:
        registry.register(action)
    rules = RuleEngine(
        field_types,
        functions if functions is not None else register_builtin_functions(FunctionRegistry()),
        registry,
        clock,
        dict(services or {}),
    )
    for make in COMPONENTS:
        rules.add(make())
    return rules


def install_rule_engine(rules: RuleEngine, hooks: RecordHooks | None = None) -> RecordHooks:
    """Install every component's record hooks; returns the hooks."""
    hooks = hooks if hooks is not None else RecordHooks()
    rules.install(hooks)
    return hooks
