"""The lead pool's buttons on the record pages: claim from the list or the detail page, release back."""

from __future__ import annotations

from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from tests.platform.pages.conftest import csrf_of

LEAD = {
    "label": {"en": "Lead", "zh-CN": "线索"},
    "title_field": "company",
    "fields": [{"name": "company", "type": "text", "required": True}, {"name": "phone", "type": "phone"}],
    "pool": {"contact_fields": ["phone"], "claim_limit": 5},
}


def test_claim_and_release_buttons(client: FlaskClient, svc: CrmServices) -> None:
    svc.metadata.put_document("entity", "lead", LEAD, "test")
    svc.metadata.publish("test", "leads")
    lead = svc.runtime().create("lead", {"company": "Acme", "phone": "13812345678"})
    listing = client.get("/e/lead?lang=zh-CN").text
    assert f'action="/e/lead/{lead["id"]}/claim"' in listing and "领取" in listing and "公海" in listing
    page = client.get(f"/e/lead/{lead['id']}?lang=en").text
    assert "In the pool" in page and "Release to pool" not in page
    response = client.post(f"/e/lead/{lead['id']}/claim", data={"csrf_token": csrf_of(page), "next": "list"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/e/lead")
    owner = svc.runtime().get("lead", lead["id"])["owner_id"]
    assert owner is not None
    page = client.get(f"/e/lead/{lead['id']}").text
    assert (
        "Claimed: the record is yours now." in page
        and "Release to pool" in page
        and "In the pool" not in page
    )
    again = client.post(f"/e/lead/{lead['id']}/claim", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 302
    assert "already yours" in client.get(f"/e/lead/{lead['id']}").text
    client.post(f"/e/lead/{lead['id']}/release", data={"csrf_token": csrf_of(page)})
    assert svc.runtime().get("lead", lead["id"])["owner_id"] is None
    assert "Released: the record is back in the pool." in client.get(f"/e/lead/{lead['id']}").text


def test_entities_without_pool_have_no_claim_route(client: FlaskClient, svc: CrmServices) -> None:
    doc = {key: value for key, value in LEAD.items() if key != "pool"}
    svc.metadata.put_document("entity", "lead", doc, "test")
    svc.metadata.publish("test", "leads")
    lead = svc.runtime().create("lead", {"company": "Acme"})
    page = client.get(f"/e/lead/{lead['id']}").text
    assert "In the pool" not in page
    assert client.post(f"/e/lead/{lead['id']}/claim", data={"csrf_token": csrf_of(page)}).status_code == 404
