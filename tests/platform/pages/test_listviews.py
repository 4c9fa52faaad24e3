"""The workspace list view: column chooser, filter builder operators, saved views and exports."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.access import AccessAdmin
from metamodel.systables import audit_log, users
from tests.platform.pages.conftest import PASSWORD, csrf_of
from tests.platform.pages.test_field_security_pages import EMAIL, ID_NO, PHONE, publish_leads


def _headers(html: str) -> list[str]:
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    cells = re.findall(r'<th scope="col"(?! class="w-1 crm-select-cell")[^>]*>(.*?)</th>', head, re.S)
    return [re.sub(r"<[^>]+>|[▲▼]", "", h).strip() for h in cells]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _sign_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return client


def test_column_chooser_picks_and_orders_columns(client: FlaskClient, svc: CrmServices) -> None:
    svc.runtime().create("customer", {"name": "Wu", "tier": "gold", "email": "wu@x.com"})
    assert _headers(client.get("/e/customer").text)[1:] == ["Name", "Tier", "Credit", "Company"]
    html = client.get("/e/customer?cols=email&cols=tier&cols=nosuch").text
    assert _headers(html)[1:] == ["Email", "Tier"] and "wu@x.com" in html
    assert _headers(client.get("/e/customer?cols=email,name").text)[1:] == ["Email", "Name"]
    assert 'name="cols" value="born"' in html  # the chooser offers every field


def test_filter_operators_read_in_words(client: FlaskClient, svc: CrmServices) -> None:
    runtime = svc.runtime()
    acme = runtime.create("company", {"name": "ACME"})
    runtime.create("customer", {"name": "A", "tier": "gold", "born": "2000-05-01", "company": acme["id"]})
    runtime.create("customer", {"name": "B", "tier": "silver", "born": "1990-01-01"})
    runtime.create("customer", {"name": "C"})
    html = client.get("/e/customer?tier__isnull=true").text
    assert ">C</a>" in html and ">A</a>" not in html and "Tier is empty" in _text(html)
    html = client.get("/e/customer?tier__isnull=false&sort=name").text
    assert ">A</a>" in html and ">B</a>" in html and "Tier is not empty" in _text(html)
    html = client.get("/e/customer?born__between=1999-01-01,2001-01-01").text
    assert ">A</a>" in html and ">B</a>" not in html
    assert "Born between 1999-01-01 and 2001-01-01" in _text(html)
    html = client.get("/e/customer?tier__in=gold,silver&lang=zh-CN").text
    assert "属于 金卡, silver" in _text(html) and ">C</a>" not in html
    html = client.get(f"/e/customer?company={acme['id']}&lang=en").text
    assert "Company equals ACME" in _text(html) and ">B</a>" not in html
    ops = re.search(r'<option value="tier" data-ops="([^"]+)"', html)
    assert ops and "isnull" in ops.group(1).split(",")


def test_saved_views_personal_and_shared_to_roles(
    site_app: Flask, client: FlaskClient, svc: CrmServices
) -> None:
    svc.runtime().create("customer", {"name": "Wu", "tier": "gold"})
    page = client.get("/e/customer?tier=gold&cols=name,tier").text
    token = csrf_of(page)
    saved = client.post(
        "/e/customer/views",
        data={"csrf_token": token, "name": "Gold ones", "query": "tier=gold&cols=name,tier&sort=-name"},
    )
    assert saved.status_code == 302 and "view=" in saved.location and "tier=gold" in saved.location
    html = client.get(saved.location).text
    assert "Gold ones" in html and _headers(html)[1:] == ["Name", "Tier"]
    refused = client.post(
        "/e/customer/views", data={"csrf_token": token, "name": "Shared", "query": "", "roles": "agent"}
    )  # only an administrator shares
    assert "only an administrator" in client.get(refused.location).text
    create_user(svc.engine, "boss", PASSWORD, is_admin=True)
    create_user(svc.engine, "ann", PASSWORD)
    admin = AccessAdmin(svc.engine)
    admin.create_role("sales")
    with svc.engine.connect() as conn:
        ann = conn.execute(sa.select(users.c.id).where(users.c.username == "ann")).scalar_one()
    admin.assign_role(int(ann), "sales")
    boss = _sign_in(site_app, "boss")
    boss_page = boss.get("/e/customer").text
    assert 'name="roles" value="sales"' in boss_page
    boss.post(
        "/e/customer/views",
        data={
            "csrf_token": csrf_of(boss_page),
            "name": "Team silver",
            "query": "tier=silver",
            "roles": "sales",
        },
    )
    ann_page = _sign_in(site_app, "ann").get("/e/customer").text
    assert "Team silver" in ann_page and "Gold ones" not in ann_page
    assert "Gold ones" not in boss.get("/e/customer").text  # personal stays personal
    view_id = re.search(r"/e/customer/views/(\d+)/delete", client.get("/e/customer").text)
    assert view_id
    assert (
        client.post(f"/e/customer/views/{view_id.group(1)}/delete", data={"csrf_token": token}).status_code
        == 302
    )
    assert "Gold ones" not in client.get("/e/customer").text


def test_export_shows_labels_columns_and_filters_and_is_audited(
    client: FlaskClient, svc: CrmServices
) -> None:
    runtime = svc.runtime()
    acme = runtime.create("company", {"name": "=ACME"})
    runtime.create("customer", {"name": "Wu", "tier": "gold", "credit": "12.5", "company": acme["id"]})
    runtime.create("customer", {"name": "Li", "tier": "silver"})
    response = client.get("/e/customer/export.csv?tier=gold&cols=name,tier,company,credit&lang=zh-CN")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == ["名称", "Tier", "Company", "Credit"]
    assert rows[1:] == [["Wu", "金卡", "'=ACME", "¥12.50"]]  # label, not code; no formula
    xlsx = client.get("/e/customer/export.xlsx?sort=name&cols=name,tier&lang=en")
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["Name", "Tier"],
        ["Li", "silver"],
        ["Wu", "Gold"],
    ]
    assert client.get("/e/customer/export.pdf").status_code == 404
    assert client.get("/e/customer/export.csv?credit__contains=x").status_code == 400
    with svc.engine.connect() as conn:
        entries = conn.execute(
            sa.select(audit_log.c.summary, audit_log.c.changes).where(audit_log.c.action == "record.export")
        ).all()
    assert [e.changes["format"] for e in entries] == ["csv", "xlsx"]
    assert entries[0].changes["query"]["tier"] == ["gold"]


def test_export_masks_exactly_as_the_list_and_needs_the_permission(
    client: FlaskClient, svc: CrmServices
) -> None:
    publish_leads(svc, "clerk")
    assert client.get("/e/lead/export.csv").status_code == 403
    AccessAdmin(svc.engine).set_permissions(
        "agent", [{"entity": "lead", "operation": op, "scope": "all"} for op in ("read", "export")]
    )
    page = client.get("/e/lead?cols=name,phone,email,id_no,score").text
    assert 'class="dropdown-item export-csv"' in page
    text = client.get("/e/lead/export.csv?cols=name,phone,email,id_no,score").text
    assert "+86 138****1234" in page and "+86 138****1234" in text and "a***@x.com" in text
    assert PHONE not in text and EMAIL not in text and ID_NO not in text and "ID number" not in text
