"""The shell's navigation pages on the retail pack: a clerk's sidebar, global search across entities within
her row scope, the notifications inbox with its bell, and approvals decided from /approvals."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from crm_platform.auth.passwords import hash_password
from crm_platform.auth.users import create_user, user_id_of
from crm_platform.services import CrmServices
from industry_templates.installer import install_pack
from industry_templates.siteaccess import write_role
from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery
from metamodel.systables import field_permissions, role_permissions, user_roles
from rule_engine.tables import approvals, inbox
from tests.platform.pages.conftest import csrf_of

PASSWORD = "ann-amber-kettle-42"
NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)
CLAIM = {
    "label": {"en": "Expense claim", "zh-CN": "费用报销"},
    "icon": "receipt",
    "title_field": "title",
    "fields": [
        {"name": "title", "type": "text", "required": True, "searchable": True},
        {
            "name": "stage",
            "type": "select",
            "options": [
                {"value": "draft", "label": {"en": "Draft", "zh-CN": "草稿"}},
                {"value": "paid", "label": {"en": "Paid", "zh-CN": "已付款"}},
            ],
        },
    ],
}
CLAIM_FLOW = {
    "entity": "claim",
    "state_field": "stage",
    "states": [
        {"name": "draft", "initial": True, "label": {"en": "Draft", "zh-CN": "草稿"}},
        {"name": "paid", "label": {"en": "Paid", "zh-CN": "已付款"}},
    ],
    "transitions": [
        {
            "name": "pay",
            "label": {"en": "Pay out", "zh-CN": "付款"},
            "from": ["draft"],
            "to": "paid",
            "approval_role": "store_manager",
        }
    ],
}

CLAIMANT = [{"entity": "claim", "operation": op, "scope": "all"} for op in ("read", "transition")]


@pytest.fixture
def retail(app: Flask, svc: CrmServices) -> Flask:
    """The app with the retail pack (its store users) and an expense claim with an approval step."""
    install_pack(svc, "retail", with_sample_data=True, password_hash=hash_password(PASSWORD))
    svc.metadata.put_document("entity", "claim", CLAIM, "test")
    svc.metadata.put_document("workflow", "claim_flow", CLAIM_FLOW, "test")
    svc.metadata.publish("test", "claims")
    with svc.engine.begin() as conn:
        conn.execute(
            role_permissions.insert(),
            [
                {"role": "store_manager", "entity": "claim", "operation": op, "scope": "all"}
                for op in ("read", "create", "transition")
            ],
        )
    return app


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.text
    return client


def actor(svc: CrmServices, username: str) -> Actor:
    return Actor(user_id_of(svc.engine, username), username, False)


def main_text(html: str) -> str:
    found = re.search(r"<main.*?</main>", html, re.S)
    assert found
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def sidebar(html: str) -> list[str]:
    return re.findall(r'nav-link-title">([^<]+)<', html)


def member(svc: CrmServices, name: str, owner: str) -> int:
    """A member created by (and so owned by) the clerk ``owner``."""
    store = svc.runtime().list("store", ListQuery(limit=1)).items[0]
    phone = f"+86139{sum(map(ord, name)) % 10_000:04d}{len(name):04d}"
    values = {"name": name, "phone": phone, "home_store": store["id"]}
    return int(svc.runtime().create("member", values, actor(svc, owner))["id"])


def test_clerk_sidebar_lists_only_what_her_role_reads(retail: Flask) -> None:
    html = signed_in(retail, "sh01_clerk").get("/?lang=en&apps=1").text
    entries = sidebar(html)
    assert {"Member", "Store", "Coupon", "Campaign", "Points entry", "Store order"} <= set(entries)
    assert "Expense claim" not in entries  # store managers only
    assert "Retail" in html
    manager = sidebar(signed_in(retail, "sh01_manager").get("/?lang=en").text)
    assert "Expense claim" in manager
    zh = sidebar(signed_in(retail, "sh01_clerk").get("/?lang=zh-CN&apps=1").text)
    assert "会员" in zh and "Member" not in zh


def test_global_search_keeps_to_her_scope_and_entities(retail: Flask, svc: CrmServices) -> None:
    mine = member(svc, "Quartzfield Lin", "sh01_clerk")
    other = member(svc, "Quartzfield Wu", "bj01_clerk")
    svc.runtime().create("claim", {"title": "Quartzfield taxi"})
    client = signed_in(retail, "sh01_clerk")
    page = client.get("/search?q=quartzfield&lang=en")
    assert page.status_code == 200
    assert f"/e/member/{mine}" in page.text and "Quartzfield Lin" in page.text
    assert f"/e/member/{other}" not in page.text and "Quartzfield Wu" not in page.text
    assert "Quartzfield taxi" not in page.text  # an entity her roles do not read
    manager = signed_in(retail, "sh01_manager").get("/search?q=quartzfield&lang=en").text
    assert "Quartzfield taxi" in manager
    nothing = client.get("/search?q=no-such-thing-anywhere&lang=en")
    assert "No records found" in main_text(nothing.text)
    # an empty query shows the records she opened last, as she may see them
    assert client.get(f"/e/member/{mine}").status_code == 200
    recent = client.get("/search?lang=en").text
    assert "Recently opened" in recent and "Quartzfield Lin" in recent


def test_search_never_matches_a_masked_value(retail: Flask, svc: CrmServices) -> None:
    mine = member(svc, "Maskedphone Zhou", "sh01_clerk")
    with svc.engine.begin() as conn:
        conn.execute(
            field_permissions.insert().values(
                role="clerk", entity="member", field="phone", access="masked", mask="phone", reveal=False
            )
        )
    client = signed_in(retail, "sh01_clerk")
    phone = svc.runtime().get("member", mine)["phone"]  # encrypted with a search hash: q matches it whole
    assert (
        f"/e/member/{mine}"
        in signed_in(retail, "sh01_manager").get("/search", query_string={"q": phone}).text
    )
    assert f"/e/member/{mine}" not in client.get("/search", query_string={"q": phone}).text
    assert f"/e/member/{mine}" in client.get("/search?q=Maskedphone").text


def notify(
    svc: CrmServices, username: str, subject: str, entity: str | None = None, record_id: int | None = None
) -> int:
    """An inbox row as a ``notify`` action writes it."""
    row = {
        "user_id": user_id_of(svc.engine, username),
        "subject": subject,
        "body": "Please call back.",
        "entity": entity,
        "record_id": record_id,
        "rule": "test",
        "created_at": NOW,
    }
    with svc.engine.begin() as conn:
        return int(conn.execute(inbox.insert().values(row)).inserted_primary_key[0])


def unread(svc: CrmServices, username: str) -> int:
    with svc.engine.connect() as conn:
        statement = select(func.count()).where(
            inbox.c.user_id == user_id_of(svc.engine, username), inbox.c.read_at.is_(None)
        )
        return int(conn.execute(statement).scalar_one())


def test_inbox_bell_mark_read_and_open(retail: Flask, svc: CrmServices) -> None:
    mine = member(svc, "Inbox Tang", "sh01_clerk")
    first = notify(svc, "sh01_clerk", "Call Inbox Tang", "member", mine)
    second = notify(svc, "sh01_clerk", "Coupon batch ready")
    theirs = notify(svc, "bj01_clerk", "Not for Shanghai")
    client = signed_in(retail, "sh01_clerk")
    page = client.get("/inbox?lang=en").text
    assert "data-crm-unread>2<" in page  # the bell in the top bar
    assert "Call Inbox Tang" in page and "Coupon batch ready" in page and "Not for Shanghai" not in page
    token = csrf_of(page)
    # marking someone else's message does nothing; her own is marked
    client.post("/inbox/read", data={"id": str(theirs), "csrf_token": token})
    assert unread(svc, "bj01_clerk") == 1
    response = client.post("/inbox/read", data={"id": str(second), "csrf_token": token})
    assert response.status_code == 302 and unread(svc, "sh01_clerk") == 1
    assert client.post("/inbox/read", data={"id": "x", "csrf_token": token}).status_code == 400
    assert client.post("/inbox/read", data={"id": str(first)}).status_code == 400  # no CSRF token
    assert "Coupon batch ready" not in client.get("/inbox?unread=1&lang=en").text
    opened = client.get(f"/inbox/{first}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/e/member/{mine}")
    assert unread(svc, "sh01_clerk") == 0
    assert client.get(f"/inbox/{theirs}/open").status_code == 404
    assert "data-crm-unread" not in client.get("/inbox?lang=en").text
    notify(svc, "sh01_clerk", "One more")
    notify(svc, "sh01_clerk", "And another")
    client.post("/inbox/read", data={"all": "1", "csrf_token": token})
    assert unread(svc, "sh01_clerk") == 0
    assert "所有消息都已读完" in client.get("/inbox?unread=1&lang=zh-CN").text


def test_approve_and_reject_from_approvals(retail: Flask, svc: CrmServices) -> None:
    workflow = svc.rules.component("workflow").service  # type: ignore[attr-defined]
    runtime = svc.runtime()
    clerk_claim = runtime.create("claim", {"title": "Taxi to supplier"})
    other_claim = runtime.create("claim", {"title": "Printer paper"})
    person = create_user(svc.engine, "requester", PASSWORD, display_name="Requester Hu").id
    with svc.engine.begin() as conn:
        write_role(conn, {"name": "claimant", "label": {"en": "Claimant"}, "permissions": CLAIMANT})
        conn.execute(user_roles.insert().values(user_id=person, role="claimant"))
    requester = Actor(person, "requester", False)
    for claim in (clerk_claim, other_claim):
        result = workflow.transition(
            runtime, "claim", int(claim["id"]), "pay", actor=requester, comment="urgent"
        )
        assert result.status == "pending"
    assert "Nothing waiting for you" in main_text(
        signed_in(retail, "sh01_clerk").get("/approvals?lang=en").text
    )
    client = signed_in(retail, "sh01_manager")
    page = client.get("/approvals?lang=en").text
    assert "Taxi to supplier" in page and "Printer paper" in page
    assert "Requester Hu asks to “Pay out” (to Paid)." in main_text(page)
    assert "付款" in client.get("/approvals?lang=zh-CN").text
    with svc.engine.connect() as conn:
        ids = dict(conn.execute(select(approvals.c.record_id, approvals.c.id)).all())
    token = csrf_of(page)
    done = client.post(
        f"/approvals/{ids[clerk_claim['id']]}/approve", data={"csrf_token": token, "comment": "ok"}
    )
    assert done.status_code == 302
    assert runtime.get("claim", int(clerk_claim["id"]))["stage"] == "paid"
    client.post(f"/approvals/{ids[other_claim['id']]}/reject", data={"csrf_token": token})
    assert runtime.get("claim", int(other_claim["id"]))["stage"] == "draft"
    after = client.get("/approvals?lang=en").text
    assert "Nothing waiting for you" in main_text(after)
    # deciding again is refused with a message, not an error page
    again = client.post(f"/approvals/{ids[other_claim['id']]}/approve", data={"csrf_token": token})
    assert again.status_code == 302
    assert "could not be decided" in client.get("/approvals?lang=en").text
    assert client.post("/approvals/99999/approve", data={"csrf_token": token}).status_code == 404
