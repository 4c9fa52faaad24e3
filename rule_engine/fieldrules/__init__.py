"""Field rules: defaults, formulas, roll-ups, conditional fields, validations and multi-field uniqueness."""

from rule_engine.fieldrules.component import FieldRuleComponent
from rule_engine.fieldrules.conditions import message_locale, messages_in

__all__ = ["FieldRuleComponent", "message_locale", "messages_in"]
