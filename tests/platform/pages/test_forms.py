"""Generated create/edit forms: a real POST of the rendered form, inline errors, locking, CSRF."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from crm_platform.services import CrmServices
from tests.platform.pages.conftest import csrf_of


class FormFields(HTMLParser):
    """Collects the controls of the first record form: names with their types and options."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, dict[str, Any]] = {}
        self.in_form = False
        self.in_template = False
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and "record-form" in (a.get("class") or ""):
            self.in_form = True
        if tag == "template":
            self.in_template = True
        if not self.in_form or self.in_template:
            return
        if tag in ("input", "textarea", "select") and a.get("name"):
            entry = self.controls.setdefault(
                a["name"] or "", {"tag": tag, "type": a.get("type"), "values": [], "options": []}
            )
            entry["values"].append(a.get("value"))
            if tag == "select":
                self.select = a["name"]
        if tag == "option" and self.select:
            self.controls[self.select]["options"].append(a.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        if tag == "template":
            self.in_template = False
        if tag == "select":
            self.select = None


def parse_controls(html: str) -> dict[str, dict[str, Any]]:
    """Return the controls of the record form in ``html``."""
    parser = FormFields()
    parser.feed(html)
    return parser.controls


def test_real_post_of_the_rendered_create_form(client: FlaskClient, svc: CrmServices) -> None:
    company = svc.runtime().create("company", {"name": "ACME Ltd"})
    html = client.get("/e/customer/new").text
    controls = parse_controls(html)
    # Every field of the entity is on the form with the widget its type asks for.
    assert controls["tier"]["tag"] == "select" and controls["tier"]["options"] == ["", "gold", "silver"]
    assert controls["vip"]["type"] == "checkbox" or "hidden" in [controls["vip"]["type"]]
    assert controls["born"]["type"] == "date"
    assert controls["seen_at"]["type"] == "datetime-local"
    assert controls["email"]["type"] == "email"
    assert controls["notes"]["tag"] == "textarea"
    # The link picker is a select of the current value that Tom Select turns into a search-as-you-type box.
    assert controls["company"]["tag"] == "select" and controls["company"]["options"] == [""]
    assert 'data-lookup="/e/company/lookup"' in html
    assert "lines-present" in controls and "csrf_token" in controls
    form = {name: entry["values"][-1] or "" for name, entry in controls.items()}
    form.update(
        {
            "name": "Zhang Wei",
            "tier": "gold",
            "credit": "1234.50",
            "born": "1990-05-17",
            "seen_at": "2026-03-01T09:30",
            "email": "zw@Example.COM",
            "notes": "line one\nline two",
            "company": str(company["id"]),
            "lines-0-id": "",
            "lines-0-item": "Widget",
            "lines-0-qty": "3",
            "lines-1-id": "",
            "lines-1-item": "Gadget",
            "lines-1-qty": "1",
        }
    )
    data = [(k, v) for k, v in form.items() if k != "vip"]
    data += [("tags", "a"), ("tags", "c"), ("vip", "0")]  # the checkbox is left unchecked: only its hidden 0
    response = client.post("/e/customer/new", data=MultiDict(data))
    assert response.status_code == 302, response.text
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    record = svc.runtime().get("customer", record_id)
    assert record["name"] == "Zhang Wei"
    assert record["tier"] == "gold"
    assert record["vip"] is False
    assert record["tags"] == ["a", "c"]
    assert Decimal(record["credit"]) == Decimal("1234.50")
    assert record["born"] == "1990-05-17"
    assert record["seen_at"] == "2026-03-01T09:30:00Z"
    assert record["email"] == "zw@example.com"
    assert record["notes"] == "line one\nline two"
    assert record["company"] == company["id"] and record["_titles"]["company"] == "ACME Ltd"
    assert [(line["item"], line["qty"]) for line in record["lines"]] == [("Widget", 3), ("Gadget", 1)]
    assert record["record_no"] == "C-0001"
    detail = client.get(response.headers["Location"]).text
    assert "Zhang Wei" in detail and "ACME Ltd" in detail and "Widget" in detail


def inline_error(html: str, field: str) -> str:
    """Return the inline error of a field: its box (marked has-error) up to the next field's box."""
    block = re.search(
        rf'<div class="[^"]*\bhas-error\b[^"]*" data-field="{field}"(.*?)(?:data-field=|$)', html, re.S
    )
    assert block, f"no inline error block for {field}"
    found = re.search(r'\bfield-error"[^>]*>([^<]+)<', block.group(1))
    assert found
    return found.group(1)


def test_invalid_submission_shows_errors_inline_and_keeps_input(
    client: FlaskClient, svc: CrmServices
) -> None:
    token = csrf_of(client.get("/e/customer/new").text)
    response = client.post(
        "/e/customer/new",
        data={
            "csrf_token": token,
            "name": "",
            "credit": "12.345",
            "email": "not-an-email",
            "born": "31/12/2020",
            "lines-present": "1",
            "lines-0-item": "",
            "lines-0-qty": "0",
        },
    )
    assert response.status_code == 422
    html = response.text

    def error_of(field: str) -> str:
        return inline_error(html, field)

    assert error_of("name") == "is required"
    assert "decimal places" in error_of("credit")
    assert "e-mail" in error_of("email")
    assert "date" in error_of("born")
    assert 'value="not-an-email"' in html and 'value="12.345"' in html  # input preserved
    line_errors = re.findall(
        r'<td data-label="(\w+)" class="has-error">.*?field-error"[^>]*>([^<]+)<', html, re.S
    )
    assert ("Item", "is required") in line_errors
    assert (
        svc.runtime()
        .list("customer", __import__("metamodel.records.query", fromlist=["ListQuery"]).ListQuery())
        .items
        == []
    )


def test_field_problems_are_worded_in_the_readers_language(client: FlaskClient) -> None:
    client.set_cookie("lang", "zh-CN")
    token = csrf_of(client.get("/e/customer/new").text)
    response = client.post(
        "/e/customer/new",
        data={
            "csrf_token": token,
            "name": "",
            "credit": "12.345",
            "email": "not-an-email",
            "born": "31/12/2020",
        },
    )
    assert response.status_code == 422
    errors = {name: inline_error(response.text, name) for name in ("name", "credit", "email", "born")}
    # Before: only "is required" was translated; the engine's other messages showed in English.
    assert (errors["name"], errors["credit"], errors["email"]) == (
        "必填",
        "最多 2 位小数",
        "不是有效的电子邮件地址",
    )
    assert errors["born"] == "必须是日期，例如 2026-01-31"


def test_stale_edit_is_refused_and_nothing_overwritten(client: FlaskClient, svc: CrmServices) -> None:
    record = svc.runtime().create("customer", {"name": "Old"})
    html = client.get(f"/e/customer/{record['id']}/edit").text
    token = csrf_of(html)
    assert 'name="lock_version" value="1"' in html
    svc.runtime().update("customer", record["id"], {"name": "Changed elsewhere"})
    response = client.post(
        f"/e/customer/{record['id']}/edit", data={"csrf_token": token, "lock_version": "1", "name": "Mine"}
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.text
    assert 'value="Mine"' in response.text  # the user's input is still there
    assert svc.runtime().get("customer", record["id"])["name"] == "Changed elsewhere"


def test_edit_updates_lines_and_fields(client: FlaskClient, svc: CrmServices) -> None:
    record = svc.runtime().create(
        "customer", {"name": "A", "lines": [{"item": "x", "qty": 1}, {"item": "y", "qty": 2}]}
    )
    html = client.get(f"/e/customer/{record['id']}/edit").text
    first_line = record["lines"][0]["id"]
    assert f'name="lines-0-id" value="{first_line}"' in html
    response = client.post(
        f"/e/customer/{record['id']}/edit",
        data={
            "csrf_token": csrf_of(html),
            "lock_version": "1",
            "name": "B",
            "lines-present": "1",
            "lines-0-id": str(first_line),
            "lines-0-item": "x2",
            "lines-0-qty": "5",
        },
    )
    assert response.status_code == 302
    after = svc.runtime().get("customer", record["id"])
    assert after["name"] == "B" and after["lock_version"] == 2
    assert [(line["id"], line["item"], line["qty"]) for line in after["lines"]] == [(first_line, "x2", 5)]


def test_post_without_csrf_token_is_refused(client: FlaskClient, svc: CrmServices) -> None:
    response = client.post("/e/customer/new", data={"name": "Sneaky"})
    assert response.status_code == 400
    assert "security token" in response.text
    from metamodel.records.query import ListQuery

    assert svc.runtime().list("customer", ListQuery()).items == []


def test_delete_through_the_page(client: FlaskClient, svc: CrmServices) -> None:
    record = svc.runtime().create("customer", {"name": "Gone"})
    token = csrf_of(client.get(f"/e/customer/{record['id']}").text)
    response = client.post(
        f"/e/customer/{record['id']}/delete", data={"csrf_token": token, "lock_version": "1"}
    )
    assert response.status_code == 302
    assert client.get(f"/e/customer/{record['id']}").status_code == 404


def test_a_loop_of_derived_writes_is_worded_in_the_readers_language(site_app: Flask) -> None:
    from crm_platform.pages.submit import _worded
    from metamodel.errors import Problem

    engine_words = Problem(
        "", "computed values of deal 3 would change again more than 10 levels deep", "derive_depth"
    )
    with site_app.test_request_context("/?lang=zh-CN"):
        zh = _worded(engine_words)
    with site_app.test_request_context("/?lang=en"):
        en = _worded(engine_words)
    assert "形成了循环" in zh and "10 层" in zh
    assert "form a loop" in en and "deal 3" not in en
