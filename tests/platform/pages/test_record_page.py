"""The record page: follow-up notes in the timeline (and the fields time rules read), @mentions,
field changes in words, related lists with a pre-filled "new", and controls only for what she may do."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.access import AccessAdmin
from metamodel.records.query import ListQuery
from metamodel.systables import users
from rule_engine.scheduler.runner import run_due
from rule_engine.tables import inbox
from tests.platform.pages.conftest import csrf_of

PROSPECT: dict[str, Any] = {
    "label": {"en": "Prospect", "zh-CN": "潜在客户"},
    "label_plural": {"en": "Prospects", "zh-CN": "潜在客户"},
    "title_field": "name",
    "followups": {"last_at_field": "last_followup_at", "next_date_field": "next_followup"},
    "fields": [
        {"name": "name", "type": "text", "required": True},
        {
            "name": "stage",
            "type": "select",
            "options": [
                {"value": "cold", "label": {"en": "Cold", "zh-CN": "冷"}, "color": "blue"},
                {"value": "hot", "label": {"en": "Hot", "zh-CN": "热"}, "color": "red"},
            ],
        },
        {"name": "company", "type": "link", "target": "company"},
        {"name": "last_followup_at", "type": "datetime", "label": {"en": "Last follow-up"}},
        {"name": "next_followup", "type": "date", "label": {"en": "Next follow-up"}},
    ],
}
REMINDER = {
    "name": "followup_due",
    "entity": "prospect",
    "event": "time",
    "schedule": {"relative_to": "next_followup", "offset_hours": 9},
    "actions": [{"type": "notify", "to": ["owner"], "subject": "Follow up {{ title }} today"}],
}


def publish(svc: CrmServices) -> None:
    svc.metadata.put_document("entity", "prospect", PROSPECT, "test")
    svc.metadata.put_document("trigger", "followup_due", REMINDER, "test")
    svc.metadata.publish("test", "prospects")


def user_id(svc: CrmServices, name: str) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(sa.select(users.c.id).where(users.c.username == name)).scalar_one())


def test_a_follow_up_note_lands_in_the_timeline_and_stamps_the_record(
    client: FlaskClient, svc: CrmServices
) -> None:
    publish(svc)
    create_user(svc.engine, "ann", "ann-amber-kettle-42")
    prospect = svc.runtime().create("prospect", {"name": "Zhou", "stage": "cold"})
    page = client.get(f"/e/prospect/{prospect['id']}").text
    response = client.post(
        f"/e/prospect/{prospect['id']}/followups",
        data={
            "csrf_token": csrf_of(page),
            "kind": "call",
            "body": "Called, wants a quote. @ann please prepare it",
            "next_date": "2026-12-10",
        },
    )
    assert response.status_code == 302 and response.location.endswith("#timeline")
    stored = svc.runtime().get("prospect", prospect["id"])
    assert stored["next_followup"] == "2026-12-10" and stored["last_followup_at"]
    page = client.get(f"/e/prospect/{prospect['id']}").text
    assert "The follow-up note was added. 1 mentioned colleague(s) notified." in page
    assert "Called, wants a quote." in page and "Next follow-up 2026-12-10" in page and ">Call<" in page
    with svc.engine.connect() as conn:
        told = conn.execute(sa.select(inbox).where(inbox.c.user_id == user_id(svc, "ann"))).all()
    assert len(told) == 1 and told[0].record_id == prospect["id"] and "@clerk" in told[0].subject
    zh = client.get(f"/e/prospect/{prospect['id']}?lang=zh-CN").text
    assert "跟进记录" in zh and "电话" in zh and "下次跟进：2026-12-10" in zh


def test_bad_follow_up_input_is_refused_in_words(client: FlaskClient, svc: CrmServices) -> None:
    publish(svc)
    prospect = svc.runtime().create("prospect", {"name": "Zhou"})
    token = csrf_of(client.get(f"/e/prospect/{prospect['id']}").text)
    url = f"/e/prospect/{prospect['id']}/followups"
    client.post(url, data={"csrf_token": token, "kind": "call", "body": "x", "next_date": "tomorrow"})
    assert "The next follow-up date is not a valid date." in client.get(url.rsplit("/", 1)[0]).text
    client.post(url, data={"csrf_token": token, "kind": "call", "body": "  "})
    assert "Write a note first." in client.get(url.rsplit("/", 1)[0]).text
    assert client.post(url, data={"kind": "call", "body": "x"}).status_code == 400  # no CSRF token
    assert (
        client.post("/e/prospect/999/followups", data={"csrf_token": token, "body": "x"}).status_code == 404
    )


def test_the_next_follow_up_date_drives_a_time_trigger_into_the_inbox(
    client: FlaskClient, svc: CrmServices
) -> None:
    publish(svc)
    token = csrf_of(client.get("/e/prospect").text)
    client.post("/e/prospect/new", data={"csrf_token": token, "name": "Wu"})
    prospect_id = svc.runtime().list("prospect", ListQuery(limit=10)).items[0]["id"]
    client.post(
        f"/e/prospect/{prospect_id}/followups",
        data={"csrf_token": token, "kind": "visit", "body": "Visited", "next_date": "2026-12-10"},
    )
    due = dt.datetime(2026, 12, 10, 9, 30, tzinfo=dt.UTC)
    run_due(svc.engine, svc.metadata.model(), due, svc.rules, svc.hooks)
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.select(inbox).where(inbox.c.rule == "followup_due")).all()
    assert [r.subject for r in rows] == ["Follow up Wu today"] and rows[0].user_id == user_id(svc, "clerk")
    page = client.get(f"/e/prospect/{prospect_id}").text
    assert "Follow up Wu today" in page  # her notification shows in the record's timeline


def test_field_changes_read_as_labels_and_skip_the_state(client: FlaskClient, svc: CrmServices) -> None:
    publish(svc)
    company = svc.runtime().create("company", {"name": "Acme"})
    prospect = svc.runtime().create("prospect", {"name": "Zhou", "stage": "cold"})
    svc.runtime().update("prospect", prospect["id"], {"stage": "hot", "company": company["id"]})
    page = client.get(f"/e/prospect/{prospect['id']}").text
    assert "Cold → <strong>Hot</strong>" in page and "Acme</strong>" in page
    assert "Created the record" in page


def test_related_lists_show_linked_records_and_prefill_new(client: FlaskClient, svc: CrmServices) -> None:
    publish(svc)
    company = svc.runtime().create("company", {"name": "Acme"})
    svc.runtime().create("prospect", {"name": "Zhou", "company": company["id"]})
    svc.runtime().create("prospect", {"name": "Elsewhere"})
    page = client.get(f"/e/company/{company['id']}").text
    assert "Prospects" in page and "Zhou" in page and "Elsewhere" not in page
    new_url = f"/e/prospect/new?company={company['id']}"
    assert f'href="{new_url}"' in page
    form = client.get(new_url).text
    assert f'value="{company["id"]}" selected' in form and "Acme" in form
    assert "Acme" not in client.get("/e/prospect/new?company=999").text


def test_controls_appear_only_when_she_may_use_them(client: FlaskClient, svc: CrmServices) -> None:
    publish(svc)
    prospect = svc.runtime().create("prospect", {"name": "Zhou"})
    admin = AccessAdmin(svc.engine)
    admin.create_role("viewer")
    admin.set_permissions("viewer", [{"entity": "prospect", "operation": "read", "scope": "all"}])
    admin.assign_role(user_id(svc, "clerk"), "viewer")
    page = client.get(f"/e/prospect/{prospect['id']}").text
    assert "Zhou" in page and f"/e/prospect/{prospect['id']}/edit" not in page
    assert f"/e/prospect/{prospect['id']}/delete" not in page
    admin.set_permissions(
        "viewer",
        [{"entity": "prospect", "operation": op, "scope": "all"} for op in ("read", "update", "delete")],
    )
    page = client.get(f"/e/prospect/{prospect['id']}").text
    assert f"/e/prospect/{prospect['id']}/edit" in page and f"/e/prospect/{prospect['id']}/delete" in page
