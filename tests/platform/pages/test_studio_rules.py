"""The studio's rule builder: the expression editor's completion and check, validations, formulas and
triggers built from forms into the draft, and 'Test on live data' (the dry run) before publish."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.conftest import PASSWORD, csrf_of

TICKET: dict[str, Any] = {
    "label": {"en": "Ticket", "zh-CN": "工单"},
    "title_field": "subject",
    "fields": [
        {"name": "subject", "type": "text", "required": True},
        {
            "name": "status",
            "type": "select",
            "options": [{"value": "open"}, {"value": "doing"}, {"value": "done"}],
        },
        {
            "name": "priority",
            "type": "select",
            "options": [{"value": "normal"}, {"value": "urgent"}],
        },
        {"name": "hours", "type": "integer"},
        {"name": "due", "type": "date"},
        {"name": "company", "type": "link", "target": "company"},
    ],
}
FLOW = {
    "entity": "ticket",
    "state_field": "status",
    "states": [{"name": "open", "initial": True}, {"name": "doing"}, {"name": "done", "final": True}],
    "transitions": [{"name": "start", "from": ["open"], "to": "doing"}],
}


@pytest.fixture
def boss(site_app: Flask, svc: CrmServices) -> FlaskClient:
    """An administrator signed in, with tickets (and their workflow) published."""
    svc.metadata.put_document("entity", "ticket", TICKET, "test")
    svc.metadata.put_document("workflow", "ticket_flow", FLOW, "test")
    svc.metadata.publish("test", "tickets")
    create_user(svc.engine, "boss", PASSWORD, is_admin=True)
    client = site_app.test_client()
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token})
    return client


def test_non_configurers_get_403(site_app: Flask, client: FlaskClient) -> None:
    token = csrf_of(client.get("/").text)
    for path in (
        "/studio/entities/customer/rules",
        "/studio/entities/customer/rules/validations/new",
        "/studio/entities/customer/rules/formulas",
        "/studio/entities/customer/rules/triggers",
        "/studio/entities/customer/expr/complete",
    ):
        assert client.get(path).status_code == 403, path
        assert client.post(path, data={"csrf_token": token, "op": "save"}).status_code in (403, 405), path
    assert client.post("/studio/entities/customer/expr/check", data={"csrf_token": token}).status_code == 403


def test_completion_lists_fields_link_paths_and_functions(boss: FlaskClient) -> None:
    items = boss.get("/studio/entities/customer/expr/complete?lang=en").get_json()["items"]
    values = {item["value"]: item for item in items}
    assert {"tier", "credit", "company", "company.name", "record_no", "add_days(", "count("} <= set(values)
    assert values["name"]["detail"] == "Name" and values["company.name"]["kind"] == "field"
    assert "lines" not in values  # a child table is for aggregates, not a value
    assert boss.get("/studio/entities/nope/expr/complete").status_code == 404


def test_check_gives_the_engines_message_and_position(boss: FlaskClient) -> None:
    page = boss.get("/studio/entities/customer/rules/validations/new?lang=en").text
    token = csrf_of(page)

    def check(text: str, want: str = "condition") -> dict[str, Any]:
        data = {"csrf_token": token, "expression": text, "want": want}
        answer = boss.post("/studio/entities/customer/expr/check?lang=en", data=data)
        assert answer.status_code == 200
        result: dict[str, Any] = answer.get_json()
        return result

    assert check("credit >= 0 and company.name != ''") == {"ok": True, "message": "", "position": None}
    bad = check("credit >= 0 and nope")
    assert not bad["ok"] and "nope" in bad["message"] and bad["position"] == 16
    assert "true or false" in check("credit + 1")["message"]
    assert check("credit + 1", "value")["ok"]
    assert boss.post("/studio/entities/customer/expr/check", data={"expression": "x"}).status_code == 400


def _record(svc: CrmServices, entity: str, values: dict[str, Any]) -> int:
    return int(svc.runtime().create(entity, values)["id"])


def test_validation_built_tested_on_live_data_and_saved(boss: FlaskClient, svc: CrmServices) -> None:
    bad = _record(svc, "customer", {"name": "<b>Owes</b>", "credit": -5})
    _record(svc, "customer", {"name": "Fine", "credit": 10})
    url = "/studio/entities/customer/rules/validations/new?lang=en"
    page = boss.get(url).text
    assert (
        "Test on live data" in page
        and 'data-crm-complete-url="/studio/entities/customer/expr/complete"' in page
    )
    form = {
        "csrf_token": csrf_of(page),
        "base": re.search(r'name="base" value="([^"]*)"', page).group(1),
        "condition": "credit >= 0",
        "message_en": "Credit <must> not be negative",
        "message_zh": "额度不能为负",
        "field": "credit",
    }
    assert boss.post(url, data={**form, "csrf_token": ""}).status_code == 400  # CSRF
    tested = boss.post(url, data={**form, "op": "test"})
    assert tested.status_code == 200
    assert 'class="h2 me-1">1</span>' in tested.text
    assert f'href="/e/customer/{bad}"' in tested.text and "&lt;b&gt;Owes&lt;/b&gt;" in tested.text
    assert "validations" not in str(svc.metadata.draft().documents["entity"]["customer"].get("rules"))
    broken = boss.post(url, data={**form, "condition": "credit >= ", "op": "save"})
    assert broken.status_code == 422 and "Nothing was saved" in broken.text
    saved = boss.post(url, data={**form, "op": "save"})
    assert saved.status_code == 302
    rules = svc.metadata.draft().documents["entity"]["customer"]["rules"]
    assert rules["validations"] == [
        {
            "condition": "credit >= 0",
            "message": {"en": "Credit <must> not be negative", "zh-CN": "额度不能为负"},
            "field": "credit",
        }
    ]
    listing = boss.get("/studio/entities/customer/rules?lang=en").text
    assert "Credit &lt;must&gt; not be negative" in listing and "<must>" not in listing
    edit = boss.get("/studio/entities/customer/rules/validations/0").text
    removed = boss.post(
        "/studio/entities/customer/rules/validations/0",
        data={"csrf_token": csrf_of(edit), "op": "delete", "base": form["base"]},
    )
    assert removed.status_code == 409  # someone (this admin) saved the entity since that base
    assert boss.get("/studio/entities/customer/rules/validations/7").status_code == 404


def test_formula_and_default(boss: FlaskClient, svc: CrmServices) -> None:
    _record(svc, "ticket", {"subject": "A", "hours": 3})
    url = "/studio/entities/ticket/rules/formulas?field=hours&lang=en"
    page = boss.get(url).text
    base = re.search(r'name="base" value="([^"]*)"', page).group(1)
    data = {"csrf_token": csrf_of(page), "base": base, "field": "hours", "formula": "len(subject) * 2"}
    tested = boss.post(url, data={**data, "op": "test"})
    assert 'class="h2 me-1">1</span>' in tested.text, tested.text
    saved = boss.post(url, data={**data, "default": "'x", "op": "save"})
    assert saved.status_code == 422
    saved = boss.post(url, data={**data, "op": "save"})
    assert saved.status_code == 302
    fields = {f["name"]: f for f in svc.metadata.draft().documents["entity"]["ticket"]["fields"]}
    assert fields["hours"]["rules"] == {"formula": "len(subject) * 2"}


def _time_trigger(page: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(page),
        "base": "",
        "name": "escalate_open",
        "label_en": "Escalate <open> tickets",
        "label_zh": "升级待处理工单",
        "enabled": "on",
        "event": "time",
        "schedule": "in_state",
        "state": "open",
        "in_state_hours": "48",
        "condition": 'priority != "urgent"',
        "a0-type": "set_fields",
        "a0-v0-field": "priority",
        "a0-v0-value": "urgent",
        "a0-v1-field": "",
        "a0-v1-value": "",
        "a1-type": "notify",
        "a1-to": "owner, role:manager",
        "a1-subject": "Escalated: {{ title }}",
        "a1-body": "",
        "a2-type": "",
        **extra,
    }


def test_time_trigger_built_from_forms_tested_and_saved(boss: FlaskClient, svc: CrmServices) -> None:
    old = _record(svc, "ticket", {"subject": "Stuck", "status": "open"})
    _record(svc, "ticket", {"subject": "Urgent already", "status": "open", "priority": "urgent"})
    real = svc.rules.clock
    svc.rules.clock = lambda: real() + dt.timedelta(hours=49)
    url = "/studio/entities/ticket/rules/triggers?lang=en"
    page = boss.get(url + "&event=time&state=open").text
    assert 'value="in_state" data-crm-switch="schedule" checked' in page
    data = _time_trigger(page)
    tested = boss.post(url, data={**data, "op": "test"})
    assert tested.status_code == 200
    assert 'class="h2 me-1">1</span>' in tested.text and f'href="/e/ticket/{old}"' in tested.text
    assert "escalate_open" not in svc.metadata.draft().documents.get("trigger", {})
    refused = boss.post(url, data={**data, "a0-v0-field": "nope", "op": "save"})
    assert refused.status_code == 422 and "nope" in refused.text
    saved = boss.post(url, data={**data, "op": "save"})
    assert saved.status_code == 302, saved.text
    doc = svc.metadata.draft().documents["trigger"]["escalate_open"]
    assert doc["schedule"] == {"state": "open", "in_state_hours": 48}
    assert doc["actions"] == [
        {"type": "set_fields", "values": {"priority": "urgent"}},
        {
            "type": "notify",
            "to": ["owner", "role:manager"],
            "subject": "Escalated: {{ title }}",
            "email": False,
        },
    ]
    assert doc["label"] == {"en": "Escalate <open> tickets", "zh-CN": "升级待处理工单"}
    listing = boss.get("/studio/entities/ticket/rules?lang=en").text
    assert "Escalate &lt;open&gt; tickets" in listing and "48 h in state open" in listing
    again = boss.post(url, data={**data, "op": "save"})
    assert again.status_code == 422 and "already exists" in again.text
    edit_url = "/studio/entities/ticket/rules/triggers/escalate_open"
    edit = boss.get(edit_url).text
    assert 'value="urgent"' in edit and "Escalated: {{ title }}" in edit
    assert svc.metadata.validate_draft() == []
    gone = boss.post(edit_url, data={"csrf_token": csrf_of(edit), "op": "delete"})
    assert gone.status_code == 302 and "escalate_open" not in svc.metadata.draft().documents.get(
        "trigger", {}
    )


def test_time_trigger_tested_over_a_window_and_bad_windows_refused_in_words(
    boss: FlaskClient, svc: CrmServices
) -> None:
    old = _record(svc, "ticket", {"subject": "Stuck", "status": "open"})
    _record(svc, "ticket", {"subject": "Urgent already", "status": "open", "priority": "urgent"})
    url = "/studio/entities/ticket/rules/triggers?lang=en"
    page = boss.get(url + "&event=time&state=open").text
    assert 'id="t-test-from"' in page and 'id="t-test-until"' in page
    data = _time_trigger(page)
    now = svc.rules.clock()
    local = lambda hours: (now + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")  # noqa: E731
    # Nothing is due now; over the next 50 hours the stuck ticket's escalation falls due.
    plain = boss.post(url, data={**data, "op": "test"}).text
    assert 'class="h2 me-1">0</span>' in plain and "crm-dryrun-when" not in plain
    tested = boss.post(url, data={**data, "op": "test", "test_until": local(50)})
    assert tested.status_code == 200
    assert 'class="h2 me-1">1</span>' in tested.text and f'href="/e/ticket/{old}"' in tested.text
    assert "Firings due from" in tested.text and f'value="{local(50)}"' in tested.text
    # A window of 10 hours from now holds no firing.
    short = boss.post(url, data={**data, "op": "test", "test_from": local(0), "test_until": local(10)})
    assert 'class="h2 me-1">0</span>' in short.text
    # A reversed window or a start without an end: the page says why, in the reader's language.
    reversed_ = boss.post(url, data={**data, "op": "test", "test_from": local(10), "test_until": local(5)})
    assert reversed_.status_code == 422 and "must be later than" in reversed_.text
    alone = boss.post(
        url.replace("lang=en", "lang=zh-CN"), data={**data, "op": "test", "test_from": local(1)}
    )
    assert alone.status_code == 422 and "需要同时给出时间段的结束时间" in alone.text
    assert "escalate_open" not in svc.metadata.draft().documents.get("trigger", {})


def test_event_trigger_condition_judged_as_of_the_until_time(boss: FlaskClient, svc: CrmServices) -> None:
    _record(svc, "ticket", {"subject": "Open one", "status": "open"})
    url = "/studio/entities/ticket/rules/triggers?lang=en"
    page = boss.get(url).text
    data = {
        "csrf_token": csrf_of(page),
        "name": "late_ones",
        "enabled": "on",
        "event": "update",
        "condition": "now() > add_hours(created_at, 24)",
        "a0-type": "notify",
        "a0-to": "owner",
        "a0-subject": "Late",
        "op": "test",
    }
    at = (svc.rules.clock() + dt.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M")
    now = boss.post(url, data=data).text
    later = boss.post(url, data={**data, "test_until": at}).text
    # A day and more later the ticket is late; now it is not.
    assert 'class="h2 me-1">0</span>' in now and 'class="h2 me-1">1</span>' in later, later
    assert "As of " in later and "As of " not in now


def test_event_trigger_with_every_action_kind(boss: FlaskClient, svc: CrmServices) -> None:
    url = "/studio/entities/ticket/rules/triggers"
    page = boss.get(url).text
    data = {
        "csrf_token": csrf_of(page),
        "name": "on_change",
        "enabled": "on",
        "event": "update",
        "changed_fields": "priority",
        "a0-type": "set_fields",
        "a0-v0-field": "hours",
        "a0-v0-value": "hours + 1",
        "a0-v0-expr": "on",
        "a1-type": "assign_owner",
        "a1-mode": "least_loaded",
        "a1-team": "support",
        "a1-open_condition": 'status != "done"',
        "a2-type": "webhook",
        "a2-url": "https://example.com/hook",
        "a2-fields": "subject, status",
        "a3-type": "transition",
        "a3-transition": "start",
        "a4-type": "create_record",
        "a4-entity": "company",
        "a4-c0-field": "name",
        "a4-c0-value": "subject",
        "a4-c0-expr": "on",
        "op": "save",
    }
    saved = boss.post(url, data=data)
    assert saved.status_code == 302, saved.text
    doc = svc.metadata.draft().documents["trigger"]["on_change"]
    assert doc["changed_fields"] == ["priority"]
    assert [a["type"] for a in doc["actions"]] == [
        "set_fields",
        "assign_owner",
        "webhook",
        "transition",
        "create_record",
    ]
    assert doc["actions"][0]["values"] == {"hours": {"expr": "hours + 1"}}
    assert doc["actions"][2]["fields"] == ["subject", "status"]
    assert doc["actions"][4]["values"] == {"name": {"expr": "subject"}}


def test_assignment_among_a_role_in_the_records_unit_round_trips(boss: FlaskClient, svc: CrmServices) -> None:
    """The studio saves role-based assignment (unit field, subunits), shows it again, and keeps it on re-save."""
    url = "/studio/entities/ticket/rules/triggers"
    page = boss.get(url).text
    assert 'name="a0-role"' in page or "role" in page
    data = {
        "csrf_token": csrf_of(page),
        "name": "by_store",
        "enabled": "on",
        "event": "create",
        "a0-type": "assign_owner",
        "a0-mode": "round_robin",
        "a0-role": "engineer",
        "a0-unit_field": "priority",
        "a0-include_subunits": "on",
        "op": "save",
    }
    saved = boss.post(url, data=data)
    assert saved.status_code == 302, saved.text
    [action] = svc.metadata.draft().documents["trigger"]["by_store"]["actions"]
    assert action == {
        "type": "assign_owner",
        "mode": "round_robin",
        "role": "engineer",
        "unit_field": "priority",
        "include_subunits": True,
    }
    data.update({"name": "by_store_and_team", "a0-team": "support"})
    refused = boss.post(url, data=data)
    assert refused.status_code == 422
    assert "exactly one of team, team_field or role" in refused.text
