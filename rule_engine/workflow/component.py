"""The workflow rule component: publish-time checks, the state-field hooks and the transition service."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from metamodel.definitions import Bundle
from metamodel.errors import Problem
from metamodel.model import SiteModel
from metamodel.records.hooks import RecordHooks
from rule_engine.engine import RuleEngine
from rule_engine.workflow import enforce
from rule_engine.workflow.checks import check_workflows
from rule_engine.workflow.service import WorkflowService


class WorkflowComponent:
    """States and transitions of entities; other components listen through ``on_transition``."""

    name = "workflow"

    def __init__(self) -> None:
        # Listeners get a Transitioned event inside the transition's transaction (the trigger
        # component appends its own when it is installed after this one).
        self.on_transition: list[Callable[[Any], None]] = []
        self.service = WorkflowService(self.on_transition)

    def check(self, bundle: Bundle, site: SiteModel, engine: RuleEngine) -> Iterable[Problem]:
        """Yield problems of every workflow document in ``bundle``."""
        yield from check_workflows(bundle.docs("workflow"), site, engine)

    def install(self, hooks: RecordHooks, engine: RuleEngine) -> None:
        """Register the state-field hooks and bind the service to the engine."""
        self.service.rules = engine
        hooks.create_defaults.append(enforce.initial_state)
        hooks.before_save.append(enforce.before_save)
        hooks.after_save.append(enforce.after_save)
