"""The studio's workflow designer: start a workflow on an option field, add states (options with colours)
and a guarded transition from forms, the server-drawn diagram, escalations; 403 and CSRF; escaping."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user
from crm_platform.pages.workflowsvg import Edge, layers, tone
from crm_platform.services import CrmServices
from tests.platform.pages.conftest import PASSWORD, csrf_of

DEAL: dict[str, Any] = {
    "label": {"en": "Deal", "zh-CN": "商机"},
    "title_field": "title",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "stage", "type": "select", "options": [{"value": "new", "label": {"en": "New"}}]},
        {"name": "amount", "type": "decimal"},
        {"name": "reason", "type": "text"},
    ],
}


@pytest.fixture
def boss(site_app: Flask, svc: CrmServices) -> FlaskClient:
    """An administrator signed in, deals published without a workflow."""
    svc.metadata.put_document("entity", "deal", DEAL, "test")
    svc.metadata.publish("test", "deals")
    create_user(svc.engine, "boss", PASSWORD, is_admin=True)
    client = site_app.test_client()
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token})
    return client


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def test_non_configurers_get_403(site_app: Flask, client: FlaskClient) -> None:
    token = csrf_of(client.get("/").text)
    for path in (
        "/studio/entities/customer/workflow",
        "/studio/entities/customer/workflow/states",
        "/studio/entities/customer/workflow/transitions",
    ):
        assert client.get(path).status_code == 403, path
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


def _state(boss: FlaskClient, **data: str) -> Any:
    url = "/studio/entities/deal/workflow/states?lang=en"
    page = boss.get(url).text
    form = {
        "csrf_token": csrf_of(page),
        "base": _hidden(page, "base"),
        "base_entity": _hidden(page, "base_entity"),
    }
    return boss.post(url, data={**form, "op": "save", **data})


def test_design_a_workflow_with_a_guarded_transition(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get("/studio/entities/deal/workflow?lang=en").text
    assert "Start a workflow" in page and 'value="stage"' in page
    assert (
        boss.post("/studio/entities/deal/workflow", data={"state_field": "stage"}).status_code == 400
    )  # CSRF
    made = boss.post(
        "/studio/entities/deal/workflow", data={"csrf_token": csrf_of(page), "state_field": "stage"}
    )
    assert made.status_code == 302
    flow = svc.metadata.draft().documents["workflow"]["deal_flow"]
    assert flow["states"] == [{"name": "new", "label": {"en": "New"}, "initial": True}]
    assert (
        _state(boss, name="won", label_en="<Won>", label_zh="赢单", colour="green", final="on").status_code
        == 302
    )
    assert _state(boss, name="lost", label_en="Lost", colour="red; background: url(x)").status_code == 302
    refused = _state(boss, name="won", label_en="Again")
    assert refused.status_code == 422 and "already has a state won" in refused.text
    options = next(
        f for f in svc.metadata.draft().documents["entity"]["deal"]["fields"] if f["name"] == "stage"
    )
    assert options["options"][1] == {
        "value": "won",
        "label": {"en": "<Won>", "zh-CN": "赢单"},
        "color": "green",
    }
    assert "color" not in options["options"][2]  # an unknown colour is not stored
    url = "/studio/entities/deal/workflow/transitions?lang=en"
    page = boss.get(url).text
    data = {
        "csrf_token": csrf_of(page),
        "base": _hidden(page, "base"),
        "name": "win",
        "label_en": "Win <it>",
        "from": "new",
        "to": "won",
        "guard": "amount > ",
        "required_fields": "reason",
        "op": "save",
    }
    bad = boss.post(url, data=data)
    assert bad.status_code == 422 and "Nothing was saved" in bad.text
    assert boss.post(url, data={**data, "guard": "amount > 0"}).status_code == 302
    boss.post(url, data={**data, "name": "give_up", "label_en": "Give up", "to": "lost", "guard": ""})
    flow = svc.metadata.draft().documents["workflow"]["deal_flow"]
    assert flow["transitions"][0] == {
        "name": "win",
        "from": ["new"],
        "to": "won",
        "label": {"en": "Win <it>"},
        "guard": "amount > 0",
        "required_fields": ["reason"],
    }
    page = boss.get("/studio/entities/deal/workflow?lang=en").text
    assert page.count("<svg") == 1 and "&lt;Won&gt;" in page and "<Won>" not in page
    assert "◇ Win &lt;it&gt;" in page and "fill: var(--tblr-green)" in page
    assert "background: url" not in page
    assert "Escalate in New" in page
    assert svc.metadata.validate_draft() == []
    svc.metadata.publish("test", "deal flow")
    edit = boss.get("/studio/entities/deal/workflow/transitions/win").text
    assert 'value="amount &gt; 0"' in edit
    used = boss.post(
        "/studio/entities/deal/workflow/states/won",
        data={"csrf_token": csrf_of(edit), "op": "delete", "base": _hidden(edit, "base")},
    )
    assert used.status_code == 422 and "win" in used.text


def test_layers_and_tones() -> None:
    edges = [Edge("a", "b", "", "", False), Edge("b", "c", "", "", False), Edge("c", "a", "", "", False)]
    assert layers(["a", "b", "c", "d"], edges, "a") == {"a": 0, "b": 1, "c": 2, "d": 3}
    assert tone("green") == "var(--tblr-green)" and tone("#a1b2c3") == "#a1b2c3"
    assert tone("red;x") == tone("#zzzzzz") == tone(None) == "var(--tblr-secondary)"


def test_a_transition_tested_on_live_data(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get("/studio/entities/deal/workflow").text
    boss.post("/studio/entities/deal/workflow", data={"csrf_token": csrf_of(page), "state_field": "stage"})
    assert _state(boss, name="won", label_en="Won").status_code == 302
    runtime = svc.runtime()
    rich = runtime.create("deal", {"title": "Big", "stage": "new", "amount": 5})["id"]
    runtime.create("deal", {"title": "Empty", "stage": "new", "amount": 0})
    url = "/studio/entities/deal/workflow/transitions?lang=en"
    page = boss.get(url).text
    data = {"csrf_token": csrf_of(page), "name": "win", "from": "new", "to": "won", "guard": "amount > 0"}
    tested = boss.post(url, data={**data, "op": "test"})
    assert tested.status_code == 200 and 'class="h2 me-1">1</span>' in tested.text
    assert f'href="/e/deal/{rich}"' in tested.text and "could take this transition" in tested.text
    assert "win" not in str(svc.metadata.draft().documents["workflow"]["deal_flow"]["transitions"])


def test_relative_and_cron_schedules_from_the_form(boss: FlaskClient, svc: CrmServices) -> None:
    url = "/studio/entities/deal/rules/triggers"
    page = boss.get(url).text
    base = {"csrf_token": csrf_of(page), "enabled": "on", "event": "time", "a0-type": "notify", "op": "save"}
    relative = {**base, "name": "before_due", "schedule": "relative", "relative_to": "created_at"}
    refused = boss.post(url, data={**relative, "offset_hours": "soon"})
    assert refused.status_code == 422 and "enter a number" in refused.text
    cron = {**base, "name": "weekly", "schedule": "cron", "cron": "0 9 * * 1", "timezone": "Asia/Shanghai"}
    assert boss.post(url, data=cron).status_code == 302
    doc = svc.metadata.draft().documents["trigger"]["weekly"]
    assert doc["schedule"] == {"cron": "0 9 * * 1", "timezone": "Asia/Shanghai"}
    assert doc["actions"] == [{"type": "notify", "to": ["owner"], "subject": "Reminder", "email": False}]
