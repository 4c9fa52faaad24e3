"""The metadata of the conditional-field tests: support tickets."""

from __future__ import annotations

from typing import Any

from rule_engine.testing.world import entity, select_field

STEPS_MESSAGE = {"en": "Describe the steps in at least 10 characters", "zh-CN": "请用至少 10 个字描述步骤"}
BUDGET_MESSAGE = {"en": "The estimate exceeds the budget", "zh-CN": "估算超出预算"}


def tickets() -> dict[str, Any]:
    """Return the tickets bundle."""
    return {
        "entity": {
            "ticket": entity(
                "ticket",
                [
                    {"name": "title", "type": "text", "required": True},
                    select_field("kind", ["question", "bug"]),
                    select_field(
                        "severity",
                        ["low", "high"],
                        rules={"visible_if": "kind == 'bug'", "required_if": "kind == 'bug'"},
                    ),
                    {
                        "name": "steps",
                        "type": "long_text",
                        "rules": {
                            "visible_if": "kind == 'bug'",
                            "validations": [{"condition": "len(steps) >= 10", "message": STEPS_MESSAGE}],
                        },
                    },
                    select_field("status", ["open", "closed"], default="open"),
                    {
                        "name": "resolution",
                        "type": "text",
                        "rules": {"required_if": "status == 'closed'", "readonly_if": "status == 'closed'"},
                    },
                    {"name": "opened", "type": "date", "rules": {"default": "today()"}},
                    {"name": "due", "type": "date", "rules": {"default": "add_days(opened, 7)"}},
                    {"name": "estimate", "type": "integer"},
                    {"name": "budget", "type": "integer"},
                    {
                        "name": "label",
                        "type": "text",
                        "rules": {"formula": "upper(coalesce(kind, 'new')) || ': ' || title"},
                    },
                    {"name": "project", "type": "text"},
                    # the form asks the rule engine, so functions like len() work live too
                    {"name": "notes", "type": "text", "rules": {"visible_if": "len(title) > 3"}},
                    {"name": "code", "type": "text"},
                ],
                title_field="title",
                rules={
                    "validations": [
                        {
                            "condition": "is_empty(estimate) or is_empty(budget) or estimate <= budget",
                            "message": BUDGET_MESSAGE,
                        },
                        {
                            "condition": "is_empty(due) or due >= opened",
                            "field": "due",
                            "message": {"en": "Due before it was opened"},
                        },
                    ]
                },
                indexes=[{"fields": ["project", "code"], "unique": True}],
            ),
        }
    }
