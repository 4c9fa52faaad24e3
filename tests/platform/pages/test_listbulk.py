"""Bulk actions on ticked rows and in-place cell edits: through the record runtime, refusals per record."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from metamodel.systables import users
from tests.platform.pages.conftest import csrf_of


def _post_bulk(client: FlaskClient, data: dict[str, object]) -> str:
    token = csrf_of(client.get("/e/customer").text)
    response = client.post("/e/customer/bulk", data={"csrf_token": token, "back": "sort=name", **data})
    assert response.status_code == 302 and response.location.endswith("/e/customer?sort=name")
    return client.get(response.location).text


def test_bulk_set_a_field_validates_like_the_form_and_reports_refusals(
    client: FlaskClient, svc: CrmServices
) -> None:
    runtime = svc.runtime()
    ids = [runtime.create("customer", {"name": f"N{i}", "tier": "silver"})["id"] for i in range(3)]
    html = _post_bulk(
        client, {"action": "set", "field": "tier", "value": "gold", "ids": [*map(str, ids[:2]), "99999"]}
    )
    assert [runtime.get("customer", i)["tier"] for i in ids] == ["gold", "gold", "silver"]
    assert "2 record(s) done." in html and "1 record(s) refused" in html and "#99999" in html
    html = _post_bulk(client, {"action": "set", "field": "credit", "value": "lots", "ids": str(ids[0])})
    assert "1 record(s) refused" in html and runtime.get("customer", ids[0])["credit"] is None
    html = _post_bulk(client, {"action": "set", "field": "tier", "value": "platinum", "ids": str(ids[0])})
    assert "refused" in html and runtime.get("customer", ids[0])["tier"] == "gold"


def test_bulk_assign_delete_and_export_of_the_selection(client: FlaskClient, svc: CrmServices) -> None:
    runtime = svc.runtime()
    ids = [runtime.create("customer", {"name": f"N{i}", "tier": "gold"})["id"] for i in range(3)]
    with svc.engine.connect() as conn:
        clerk = conn.execute(sa.select(users.c.id).where(users.c.username == "clerk")).scalar_one()
    page = client.get("/e/customer").text
    assert 'id="bulk-form"' in page and f'<option value="{clerk}">clerk</option>' in page
    _post_bulk(client, {"action": "assign", "owner": str(clerk), "ids": f"{ids[0]},{ids[1]}"})
    assert [runtime.get("customer", i)["owner_id"] for i in ids[:2]] == [clerk, clerk]
    text = client.get(f"/e/customer/export.csv?sort=name&cols=name,tier&ids={ids[0]},{ids[2]}").text
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [
        ["Name", "Tier"],
        ["N0", "Gold"],
        ["N2", "Gold"],
    ]
    html = _post_bulk(client, {"action": "delete", "ids": [str(ids[1]), str(ids[2])]})
    assert "2 record(s) done." in html
    assert [
        r["id"]
        for r in runtime.list(
            "customer", __import__("metamodel.records.query", fromlist=["ListQuery"]).ListQuery()
        ).items
    ] == [ids[0]]
    assert "Tick the records" in _post_bulk(client, {"action": "delete"})


def test_inline_edit_saves_or_answers_the_forms_error(client: FlaskClient, svc: CrmServices) -> None:
    record = svc.runtime().create("customer", {"name": "Wu", "tier": "silver", "credit": "5"})
    page = client.get("/e/customer").text
    assert (
        'data-field="tier" data-kind="select"' in page and 'data-field="company"' not in page
    )  # links: on the form
    token = csrf_of(page)
    url = f"/e/customer/{record['id']}/cell"
    saved = client.post(
        url, data={"csrf_token": token, "field": "tier", "value": "gold", "lock_version": "1"}
    )
    assert saved.status_code == 200 and "Gold" in saved.json["html"] and saved.json["value"] == "gold"
    bad = client.post(url, data={"csrf_token": token, "field": "credit", "value": "lots"})
    assert bad.status_code == 422 and bad.json["error"]
    required = client.post(url, data={"csrf_token": token, "field": "name", "value": ""})
    assert required.status_code == 422 and "required" in required.json["error"]
    stale = client.post(
        url, data={"csrf_token": token, "field": "tier", "value": "silver", "lock_version": "1"}
    )
    assert stale.status_code == 409
    assert svc.runtime().get("customer", record["id"])["tier"] == "gold"
    zh = client.post(url + "?lang=zh-CN", data={"csrf_token": token, "field": "name", "value": ""})
    assert zh.status_code == 422 and zh.json["error"] != required.json["error"]
    assert client.post(url, data={"field": "tier", "value": "gold"}).status_code == 400  # no CSRF token
