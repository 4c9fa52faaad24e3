"""The record detail page shows the workflow: transition buttons (POST forms with CSRF) and history."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from rule_engine.workflow import TransitionRefused
from tests.platform.pages.conftest import csrf_of

TICKET = {
    "label": {"en": "Ticket"},
    "title_field": "subject",
    "fields": [
        {"name": "subject", "type": "text", "required": True},
        {"name": "status", "type": "select", "options": [{"value": "open"}, {"value": "done"}]},
    ],
}
FLOW = {
    "entity": "ticket",
    "state_field": "status",
    "states": [
        {"name": "open", "initial": True, "label": {"en": "Open", "zh-CN": "处理中"}},
        {"name": "done", "label": {"en": "Done", "zh-CN": "已完成"}},
    ],
    "transitions": [
        {
            "name": "finish",
            "label": {"en": "Finish", "zh-CN": "完成"},
            "from": ["open"],
            "to": "done",
            "guard": "subject != 'stuck'",
            "guard_message": {"en": "A stuck ticket cannot be finished.", "zh-CN": "卡住的工单不能完成。"},
        },
        {"name": "reopen", "from": ["done"], "to": "open", "roles": ["lead"]},
    ],
}


def publish_tickets(svc: CrmServices) -> None:
    svc.metadata.put_document("entity", "ticket", TICKET, "test")
    svc.metadata.put_document("workflow", "ticket_flow", FLOW, "test")
    svc.metadata.publish("test", "tickets")


def test_detail_page_buttons_move_the_record_and_show_history(client: FlaskClient, svc: CrmServices) -> None:
    publish_tickets(svc)
    ticket = svc.runtime().create("ticket", {"subject": "Printer"})
    page = client.get(f"/e/ticket/{ticket['id']}").text
    action = f'action="/e/ticket/{ticket["id"]}/transition/finish"'
    assert action in page and ">Finish</button>" in page and "reopen" not in page
    response = client.post(
        f"/e/ticket/{ticket['id']}/transition/finish",
        data={"csrf_token": csrf_of(page), "comment": "fixed the tray"},
    )
    assert response.status_code == 302
    page = client.get(f"/e/ticket/{ticket['id']}").text
    assert "Moved to done." in page and "fixed the tray" in page and "clerk" in page
    assert "Status changed" in page  # the transition is in the timeline
    assert "/transition/" not in page  # reopen needs the lead role: no button at all
    assert svc.runtime().get("ticket", ticket["id"])["status"] == "done"


def test_a_refused_transition_shows_the_guard_message_never_the_expression(
    client: FlaskClient, svc: CrmServices
) -> None:
    publish_tickets(svc)
    ticket = svc.runtime().create("ticket", {"subject": "stuck"})
    page = client.get(f"/e/ticket/{ticket['id']}?lang=zh-CN").text
    assert ">完成</button>" in page and "卡住的工单不能完成。" in page and " disabled" in page
    assert "subject !=" not in page and "guard failed" not in page
    response = client.post(f"/e/ticket/{ticket['id']}/transition/finish", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 302
    page = client.get(f"/e/ticket/{ticket['id']}?lang=en").text
    assert "A stuck ticket cannot be finished." in page and "subject !=" not in page
    assert svc.runtime().get("ticket", ticket["id"])["status"] == "open"
    without_token = client.post(f"/e/ticket/{ticket['id']}/transition/finish", data={})
    assert without_token.status_code == 400


def test_the_engine_returns_the_guard_message_as_code_and_params(svc: CrmServices) -> None:
    publish_tickets(svc)
    ticket = svc.runtime().create("ticket", {"subject": "stuck"})
    service = svc.rules.component("workflow").service  # type: ignore[attr-defined]
    with pytest.raises(TransitionRefused) as refused:
        service.transition(svc.runtime(), "ticket", ticket["id"], "finish")
    body = refused.value.as_dict()
    assert body["reason"] == "guard" and body["message_code"] == "workflow.guard_refused"
    assert body["guard_message"]["zh-CN"] == "卡住的工单不能完成。"


def test_a_transition_asking_for_confirmation_opens_a_dialog(client: FlaskClient, svc: CrmServices) -> None:
    flow = {**FLOW, "transitions": [{**FLOW["transitions"][0], "confirm": True}]}  # type: ignore[dict-item]
    svc.metadata.put_document("entity", "ticket", TICKET, "test")
    svc.metadata.put_document("workflow", "ticket_flow", flow, "test")
    svc.metadata.publish("test", "tickets")
    ticket = svc.runtime().create("ticket", {"subject": "Printer"})
    page = client.get(f"/e/ticket/{ticket['id']}").text
    assert 'data-bs-target="#transition-finish"' in page and 'id="transition-finish"' in page
    assert "Do you want to take this step?" in page


def test_pages_of_entities_without_a_workflow_are_unchanged(client: FlaskClient, svc: CrmServices) -> None:
    company = svc.runtime().create("company", {"name": "Acme"})
    page = client.get(f"/e/company/{company['id']}").text
    assert "State history" not in page and "/transition/" not in page
    assert (
        client.post(
            f"/e/company/{company['id']}/transition/x", data={"csrf_token": csrf_of(page)}
        ).status_code
        == 404
    )
