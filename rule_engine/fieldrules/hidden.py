"""Values sent for fields that ``visible_if`` hides are dropped, never stored (issue 15 item 3).

A hidden field cannot be seen or edited in the form, so a value arriving for it is either a stale
echo or an attempt to write behind the form's back; the stored value stays as it was (a new record
gets the field's plain default). Only user writes are filtered: rule actions and imports by the system
may fill hidden fields on purpose. Visibility is judged on the record as sent, before formulas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rule_engine.fieldrules.compute import Calculator
from rule_engine.fieldrules.conditions import visible
from rule_engine.fieldrules.spec import EntityRules


def drop_hidden(
    calc: Calculator,
    rules: EntityRules,
    values: dict[str, Any],
    sent: Mapping[str, Any],
    before: Mapping[str, Any] | None,
) -> list[str]:
    """Remove from ``values`` the sent fields hidden on the record as it would be saved; returns their names."""
    record = {**(before or {}), **values}
    hidden = [
        name
        for name in sent
        if (rule := rules.fields.get(name)) is not None
        and rule.visible_if
        and not visible(calc, rules, name, record)
    ]
    model = calc.model
    for name in hidden:
        if before is not None:
            values.pop(name, None)
        else:
            definition = model.fields[name]
            values[name] = model.types[name].prepare(definition, definition.get("default"))
    return hidden
