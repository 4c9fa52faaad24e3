"""The form's conditional fields judged by the rule engine: /e/<entity>/form-state and the first render."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.conftest import PASSWORD, csrf_of
from tests.rule_engine.fieldrules.fieldrule_tickets import tickets


@pytest.fixture
def clerk(app: Flask, svc: CrmServices) -> FlaskClient:
    """A signed-in client on a site with the tickets entity."""
    for name, doc in tickets()["entity"].items():
        svc.metadata.put_document("entity", name, doc, "test")
    svc.metadata.publish("test", "tickets")
    create_user(svc.engine, "clerk", PASSWORD)
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
    return client


def _states(client: FlaskClient, url: str, form: dict[str, Any]) -> dict[str, dict[str, bool]]:
    token = csrf_of(client.get("/e/ticket/new").text)
    response = client.post(url, data={"csrf_token": token, **form})
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    fields: dict[str, dict[str, bool]] = response.json["fields"]
    return fields


def test_new_form_states_follow_the_values(clerk: FlaskClient) -> None:
    bug = _states(clerk, "/e/ticket/form-state", {"title": "Crash", "kind": "bug"})
    assert bug["severity"] == {"visible": True, "required": True, "readonly": False}
    assert bug["steps"]["visible"] is True
    assert bug["notes"]["visible"] is True  # len(title) > 3: functions are evaluated too
    question = _states(clerk, "/e/ticket/form-state", {"title": "Hi", "kind": "question"})
    assert question["severity"] == {"visible": False, "required": False, "readonly": False}
    assert question["notes"]["visible"] is False
    closing = _states(clerk, "/e/ticket/form-state", {"title": "x", "status": "closed"})
    # required as typed; read-only only for what is stored (a new ticket's fixed default is open)
    assert closing["resolution"] == {"visible": True, "required": True, "readonly": False}
    garbage = _states(clerk, "/e/ticket/form-state", {"title": "x", "estimate": "not a number"})
    assert "severity" in garbage  # input that does not parse yet counts as empty, never an error


def test_read_only_is_judged_on_the_stored_record(clerk: FlaskClient, svc: CrmServices) -> None:
    ticket = svc.runtime().create("ticket", {"title": "t", "status": "closed", "resolution": "fixed"})
    url = f"/e/ticket/{ticket['id']}/form-state"
    assert _states(clerk, url, {"status": "open"})["resolution"]["readonly"] is True
    html = clerk.get(f"/e/ticket/{ticket['id']}/edit").text
    tag = re.search(r'<input id="f-resolution"[^>]*>', html)
    assert tag and "disabled" in tag.group(0)


def test_the_first_render_already_shows_the_engine_s_answer(clerk: FlaskClient) -> None:
    html = clerk.get("/e/ticket/new").text
    severity = re.search(r'<div class="[^"]*" data-field="severity"[^>]*>', html)
    assert severity and " hidden" in severity.group(0) and 'data-conditional="1"' in severity.group(0)
    title = re.search(r'<div class="[^"]*" data-field="title"[^>]*>', html)
    assert title and " hidden" not in title.group(0)
    assert 'data-state-url="/e/ticket/form-state"' in html
    assert "compileRule" not in clerk.get("/static/crm.js").text  # no second interpreter in the browser


def test_form_state_guards(clerk: FlaskClient, app: Flask, svc: CrmServices) -> None:
    token = csrf_of(clerk.get("/e/ticket/new").text)
    assert clerk.post("/e/nosuch/form-state", data={"csrf_token": token}).status_code == 404
    assert clerk.post("/e/ticket/999/form-state", data={"csrf_token": token}).status_code == 404
    assert clerk.post("/e/ticket/form-state", data={"kind": "bug"}).status_code == 400  # no CSRF token
    anonymous = app.test_client().post("/e/ticket/form-state", data={"kind": "bug"})
    assert anonymous.status_code in (302, 400, 401)
