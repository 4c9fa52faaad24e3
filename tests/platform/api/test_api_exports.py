"""Exporting records through the API: CSV and XLSX as the list shows them (labels, titles, masks), the
export permission, the audit entry, filters, and a file written page by page."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import sqlalchemy as sa

from crm_platform.services import CrmServices
from metamodel.systables import audit_log, users
from tests.platform.api.apisupport import COMPANY, Api, error_of

PHONE = "+8613812341234"
DEAL = {
    "label": {"en": "Deal", "zh-CN": "商机"},
    "title_field": "name",
    "fields": [
        {"name": "name", "type": "text", "required": True, "searchable": True},
        {
            "name": "stage",
            "type": "select",
            "options": [
                {"value": "won", "label": {"en": "Won", "zh-CN": "赢单"}},
                {"value": "lost", "label": {"en": "Lost", "zh-CN": "输单"}},
            ],
        },
        {
            "name": "tags",
            "type": "multi_select",
            "options": [
                {"value": "vip", "label": {"en": "Key account", "zh-CN": "大客户"}},
                {"value": "new", "label": {"en": "New", "zh-CN": "新客户"}},
            ],
        },
        {"name": "company", "type": "link", "target": "company"},
        {"name": "phone", "type": "phone"},
        {"name": "secret", "type": "text"},
        {"name": "amount", "type": "integer"},
    ],
}
RULES = [
    {"entity": "deal", "field": "phone", "access": "masked"},
    {"entity": "deal", "field": "secret", "access": "hidden"},
]


def permissions(admin: Api, *operations: str) -> None:
    rules = [{"entity": e, "operation": op, "scope": "all"} for op in operations for e in ("deal", "company")]
    admin.ok("PUT", "/access/roles/seller/permissions", {"permissions": rules})


@pytest.fixture
def deals(admin: Api, user: Api, api_svc: CrmServices) -> list[int]:
    """Two deals of one company; alice holds 'seller' (read deals; phone masked, secret hidden for her)."""
    admin.define("entity", "company", COMPANY)
    admin.define("entity", "deal", DEAL)
    admin.publish("deals")
    admin.ok("POST", "/access/roles", {"name": "seller"}, status=201)
    permissions(admin, "read")
    admin.ok("PUT", "/access/roles/seller/fields", {"fields": RULES})
    with api_svc.engine.connect() as conn:
        alice = conn.execute(sa.select(users.c.id).where(users.c.username == "alice")).scalar_one()
    admin.ok("POST", f"/access/users/{alice}/roles", {"role": "seller"})
    acme = admin.ok("POST", "/records/company", {"name": "=ACME"}, status=201)["id"]
    rows = [
        {
            "name": "Tea",
            "stage": "won",
            "tags": ["vip", "new"],
            "company": acme,
            "phone": PHONE,
            "secret": "s1",
        },
        {"name": "Silk", "stage": "lost", "amount": 7, "secret": "s2"},
    ]
    return [int(admin.ok("POST", "/records/deal", row, status=201)["id"]) for row in rows]


def csv_rows(api: Api, query: str = "") -> list[dict[str, str]]:
    response = api.get(f"/records/deal/export{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def xlsx_rows(api: Api, query: str) -> list[dict[str, str]]:
    response = api.get(f"/records/deal/export{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Disposition"].endswith("filename=deal.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    assert sheet is not None
    header, *rows = [
        [str(c) if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)
    ]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_export_shows_option_labels_and_link_titles_in_both_formats(deals: list[int], admin: Api) -> None:
    tea, silk = deals
    rows = csv_rows(admin, "?sort=name")
    assert [r["name"] for r in rows] == ["Silk", "Tea"]
    assert (rows[1]["id"], rows[1]["stage"], rows[1]["tags"]) == (str(tea), "Won", "Key account, New")
    assert rows[1]["company"] == "'=ACME"  # a title that reads as a formula is defused
    assert (rows[0]["stage"], rows[0]["amount"], rows[0]["company"]) == ("Lost", "7", "")
    chinese = csv_rows(admin, "?sort=name&lang=zh-CN")
    assert [(r["stage"], r["tags"]) for r in chinese] == [("输单", ""), ("赢单", "大客户, 新客户")]
    assert xlsx_rows(admin, "?sort=name&format=xlsx&lang=en") == rows
    assert [r["name"] for r in csv_rows(admin, "?stage=won")] == ["Tea"]
    assert silk != tea


def test_export_is_masked_exactly_as_the_list(deals: list[int], admin: Api, user: Api) -> None:
    refused = user.get("/records/deal/export")
    assert refused.status_code == 403 and error_of(refused)["code"] == "permission_denied"
    permissions(admin, "read", "export")
    listed = {item["id"]: item for item in user.ok("GET", "/records/deal")["items"]}
    rows = {int(r["id"]): r for r in csv_rows(user)}
    masked = listed[deals[0]]["phone"]
    assert masked != PHONE and PHONE not in str(rows)
    assert rows[deals[0]]["phone"] == "'" + masked  # the list's mask, defused like every "+" cell
    assert "secret" not in rows[deals[0]] and "secret" not in listed[deals[0]]
    assert [r["phone"] for r in xlsx_rows(user, "?format=xlsx&sort=name")] == ["", "'" + masked]
    assert user.get("/records/deal/export?sort=phone").status_code == 403
    assert user.get("/records/deal/export?format=pdf").status_code == 404


def test_every_export_is_audited_with_its_format_and_filters(
    deals: list[int], admin: Api, api_svc: CrmServices
) -> None:
    csv_rows(admin, "?stage=won")
    xlsx_rows(admin, "?format=xlsx")
    with api_svc.engine.connect() as conn:
        entries = conn.execute(
            sa.select(audit_log.c.actor_name, audit_log.c.entity, audit_log.c.changes)
            .where(audit_log.c.action == "record.export")
            .order_by(audit_log.c.id)
        ).all()
    assert [(e.actor_name, e.entity, e.changes["format"]) for e in entries] == [
        ("admin", "deal", "csv"),
        ("admin", "deal", "xlsx"),
    ]
    assert entries[0].changes["query"] == {"stage": ["won"]}


def test_a_large_export_streams_page_by_page(deals: list[int], admin: Api, api_svc: CrmServices) -> None:
    """More rows than one page (500): the CSV is a stream of lines, each record exactly once."""
    runtime = api_svc.runtime()
    for start in range(0, 1200, 200):
        with runtime.transaction(write=True) as conn:
            for i in range(start, start + 200):
                runtime.create("deal", {"name": f"D{i:04d}", "stage": "won"}, conn=conn)
    response = admin.get("/records/deal/export?stage=won", buffered=False)
    assert response.is_streamed
    ids = [
        int(r["id"]) for r in csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    ]
    assert len(ids) == len(set(ids)) == 1201
