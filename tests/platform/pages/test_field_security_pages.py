"""Field-level security on the pages: hidden fields not rendered, read-only and masked ones locked,
masked values shown masked, a reveal button that shows the clear value and is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.access import AccessAdmin
from metamodel.systables import audit_log, users
from tests.platform.pages.browsersupport import serving, signed_in_page
from tests.platform.pages.conftest import PASSWORD, csrf_of

PHONE, EMAIL, ID_NO = "+8613812341234", "alice@x.com", "110101199003071234"
LEAD = {
    "label": {"en": "Lead", "zh-CN": "线索"},
    "title_field": "name",
    "list_fields": ["name", "phone", "id_no", "score"],
    "fields": [
        {"name": "name", "type": "text", "required": True, "searchable": True},
        {"name": "phone", "type": "phone", "label": {"en": "Phone"}},
        {"name": "email", "type": "email", "label": {"en": "E-mail"}},
        {"name": "id_no", "type": "text", "mask": "id_number", "label": {"en": "ID number"}},
        {"name": "score", "type": "integer", "label": {"en": "Score"}},
    ],
}


def publish_leads(svc: CrmServices, username: str) -> int:
    """Publish 'lead', give ``username`` the role 'agent' with field rules, and create one lead."""
    svc.metadata.put_document("entity", "lead", LEAD, "test")
    svc.metadata.publish("test", "leads")
    admin = AccessAdmin(svc.engine)
    admin.create_role("agent")
    admin.set_permissions(
        "agent", [{"entity": "lead", "operation": op, "scope": "all"} for op in ("read", "create", "update")]
    )
    rules: list[dict[str, Any]] = [
        {"entity": "lead", "field": "phone", "access": "masked", "reveal": True},
        {"entity": "lead", "field": "email", "access": "masked"},
        {"entity": "lead", "field": "id_no", "access": "hidden"},
        {"entity": "lead", "field": "score", "access": "readonly"},
    ]
    admin.set_field_rules("agent", rules, svc.metadata.model())
    with svc.engine.connect() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one()
    admin.assign_role(int(user_id), "agent")
    lead = {"name": "Alice Smith", "phone": PHONE, "email": EMAIL, "id_no": ID_NO, "score": 7}
    return int(svc.runtime().create("lead", lead)["id"])


def test_detail_page_masks_hides_and_reveals(client: FlaskClient, svc: CrmServices) -> None:
    lead = publish_leads(svc, "clerk")
    page = client.get(f"/e/lead/{lead}").text
    assert "+86 138****1234" in page and "a***@x.com" in page
    assert PHONE not in page and EMAIL not in page and ID_NO not in page and "ID number" not in page
    assert (
        page.count('name="field" value="phone"') == 1 and 'value="email"' not in page
    )  # only phone may be revealed
    revealed = client.post(f"/e/lead/{lead}/reveal", data={"csrf_token": csrf_of(page), "field": "phone"})
    assert revealed.status_code == 200 and PHONE in revealed.text and "revealed (logged)" in revealed.text
    refused = client.post(f"/e/lead/{lead}/reveal", data={"csrf_token": csrf_of(page), "field": "email"})
    assert refused.status_code == 302 and EMAIL not in client.get(refused.location).text
    with svc.engine.connect() as conn:
        changes = (
            conn.execute(sa.select(audit_log.c.changes).where(audit_log.c.action == "record.reveal"))
            .scalars()
            .all()
        )
    assert changes == [{"fields": ["phone"]}]


def test_edit_form_locks_restricted_fields_and_ignores_them_on_post(
    client: FlaskClient, svc: CrmServices
) -> None:
    lead = publish_leads(svc, "clerk")
    form = client.get(f"/e/lead/{lead}/edit").text
    assert 'name="id_no"' not in form and ID_NO not in form and PHONE not in form
    for name in ("phone", "email", "score"):
        start = form.index(f'name="{name}"')
        tag = form[form.rindex("<", 0, start) : form.index(">", start)]
        assert "disabled" in tag, name
    posted = {
        "csrf_token": csrf_of(form),
        "lock_version": "1",
        "name": "Alicia",
        "score": "99",
        "id_no": "X",
        "phone": "13900000000",
    }
    response = client.post(f"/e/lead/{lead}/edit", data=posted)
    assert response.status_code == 302, response.text
    stored = svc.runtime().get("lead", lead)
    assert (stored["name"], stored["score"], stored["id_no"], stored["phone"]) == ("Alicia", 7, ID_NO, PHONE)


def test_list_page_leaves_out_hidden_columns_and_masked_filters(
    client: FlaskClient, svc: CrmServices
) -> None:
    publish_leads(svc, "clerk")
    page = client.get("/e/lead").text
    assert "+86 138****1234" in page and "Alice Smith" in page
    assert "ID number" not in page and ID_NO not in page
    assert 'option value="phone"' not in page and 'option value="score"' in page
    assert "sort=phone" not in page and "sort=score" in page
    refused = client.get("/e/lead?sort=phone")
    assert refused.status_code == 400 and "hidden or masked for you" in refused.text
    assert client.get("/e/lead?q=13812341234").text.count("Alice Smith") == 0
    assert "export-csv" not in page  # no export permission


browser = pytest.mark.browser


@pytest.fixture
def live_url(app: Flask, svc: CrmServices) -> Iterator[str]:
    """Serve the app with leads and an agent 'clerk', on a free local port."""
    create_user(svc.engine, "clerk", PASSWORD)
    publish_leads(svc, "clerk")
    with serving(app) as url:
        yield url


@pytest.fixture
def page(chromium_path: str, live_url: str) -> Iterator[Page]:
    """A signed-in browser page."""
    with signed_in_page(chromium_path, live_url, "clerk", PASSWORD) as tab:
        yield tab


@browser
def test_detail_page_in_a_browser(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/e/lead/1")
    phone = page.locator(".field", has=page.locator("dt", has_text="Phone"))
    expect(phone.locator(".masked")).to_have_text("+86 138****1234")
    expect(page.locator("dt", has_text="ID number")).to_have_count(0)
    expect(page.locator(".field", has=page.locator("dt", has_text="E-mail")).locator("button")).to_have_count(
        0
    )
    phone.get_by_role("button", name="Reveal").click()
    expect(page.locator(".field", has=page.locator("dt", has_text="Phone")).locator("dd")).to_contain_text(
        PHONE
    )
    page.goto(f"{live_url}/e/lead/1/edit")
    expect(page.locator("#f-phone")).to_be_disabled()
    expect(page.locator("#f-phone")).to_have_value("+86 138****1234")
    expect(page.locator("#f-score")).to_be_disabled()
    expect(page.locator("#f-id_no")).to_have_count(0)
    page.fill("#f-name", "Alicia")
    page.locator("form.record-form button[type=submit]").first.click()
    expect(page.locator(".page-header")).to_contain_text("Lead")  # entity label above the record title
    expect(page.locator(".field", has=page.locator("dt", has_text="Score")).locator("dd")).to_contain_text(
        "7"
    )
