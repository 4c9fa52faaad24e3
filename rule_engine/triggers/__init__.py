"""Event and time triggers: checked at publish, fired by record hooks (events) and the scheduler (time)."""

from rule_engine.triggers.component import TriggerComponent
from rule_engine.triggers.spec import Schedule, TriggerSpec, site_triggers, triggers_for

__all__ = ["Schedule", "TriggerComponent", "TriggerSpec", "site_triggers", "triggers_for"]
