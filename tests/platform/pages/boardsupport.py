"""The deals of the board and calendar tests: a workflow with a guard and a role, an amount and a date."""

from __future__ import annotations

from typing import Any

from crm_platform.services import CrmServices

DEAL: dict[str, Any] = {
    "label": {"en": "Deal", "zh-CN": "商机"},
    "title_field": "title",
    "list_fields": ["title", "stage", "amount", "close_on", "phone"],
    "fields": [
        {
            "name": "title",
            "type": "text",
            "required": True,
            "searchable": True,
            "label": {"en": "Title", "zh-CN": "标题"},
        },
        {
            "name": "stage",
            "type": "select",
            "label": {"en": "Stage", "zh-CN": "阶段"},
            "options": [{"value": "new"}, {"value": "won"}, {"value": "lost"}],
        },
        {
            "name": "priority",
            "type": "select",
            "label": {"en": "Priority", "zh-CN": "优先级"},
            "options": [
                {"value": "high", "label": {"en": "High", "zh-CN": "高"}},
                {"value": "low", "label": {"en": "Low", "zh-CN": "低"}},
            ],
        },
        {"name": "amount", "type": "currency", "currency": "CNY", "label": {"en": "Amount", "zh-CN": "金额"}},
        {"name": "close_on", "type": "date", "label": {"en": "Close on", "zh-CN": "预计成交日"}},
        {"name": "phone", "type": "phone", "label": {"en": "Phone", "zh-CN": "电话"}},
    ],
}
FLOW: dict[str, Any] = {
    "entity": "deal",
    "state_field": "stage",
    "states": [
        {"name": "new", "initial": True, "label": {"en": "New", "zh-CN": "新建"}},
        {"name": "won", "label": {"en": "Won", "zh-CN": "赢单"}},
        {"name": "lost", "label": {"en": "Lost", "zh-CN": "输单"}},
    ],
    "transitions": [
        {"name": "win", "label": {"en": "Win"}, "from": ["new"], "to": "won", "guard": "amount > 0"},
        {"name": "lose", "label": {"en": "Lose"}, "from": ["new"], "to": "lost"},
        {"name": "reopen", "from": ["won", "lost"], "to": "new", "roles": ["manager"]},
    ],
}


def publish_deals(svc: CrmServices) -> None:
    """Publish the deal entity and its workflow."""
    svc.metadata.put_document("entity", "deal", DEAL, "test")
    svc.metadata.put_document("workflow", "deal_flow", FLOW, "test")
    svc.metadata.publish("test", "deals")
