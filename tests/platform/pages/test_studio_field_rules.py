"""The studio's field page: a field's validation rules added, checked by the rule engine, tested on
live data, edited and removed in the draft; once published, a record form refuses a value that breaks
one with the admin's message in the reader's language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from tests.platform.pages.conftest import admin_client, csrf_of

FIELD = "/studio/entities/customer/fields/credit"
NEW = FIELD + "/validations/new"


@pytest.fixture
def boss(site_app: Flask, svc: CrmServices) -> FlaskClient:
    """An administrator signed in."""
    return admin_client(site_app, svc)


def _base(page: str) -> str:
    found = re.search(r'name="base" value="([^"]*)"', page)
    assert found is not None
    return found.group(1)


def _form(page: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(page),
        "base": _base(page),
        "condition": "credit >= 0",
        "message_en": "Credit <must> not be negative",
        "message_zh": "额度不能为负",
        **extra,
    }


def _credit(svc: CrmServices) -> dict[str, Any]:
    fields = svc.metadata.draft().documents["entity"]["customer"]["fields"]
    found: dict[str, Any] = next(f for f in fields if f["name"] == "credit")
    return found


def test_non_configurers_get_403(site_app: Flask, client: FlaskClient) -> None:
    token = csrf_of(client.get("/").text)
    for path in (FIELD, NEW, FIELD + "/validations/0"):
        assert client.get(path).status_code == 403, path
    assert client.post(NEW, data={"csrf_token": token, "op": "save"}).status_code == 403


def test_field_page_lists_settings_and_offers_a_rule(boss: FlaskClient) -> None:
    page = boss.get(FIELD + "?lang=en")
    assert page.status_code == 200
    assert "Validation rules" in page.text and "No validation rules yet" in page.text
    assert "credit &gt;= 0" in page.text  # the example uses the field's own name
    assert 'href="/studio/entities/customer/fields/credit/validations/new"' in page.text
    entity = boss.get("/studio/entities/customer?lang=en").text
    assert 'href="/studio/entities/customer/fields/credit"' in entity
    assert boss.get("/studio/entities/customer/fields/nope").status_code == 404
    assert (
        boss.get("/studio/entities/line/fields/qty").status_code == 404
    )  # child tables: their parent's page
    assert boss.get("/studio/entities/nope/fields/credit").status_code == 404
    zh = boss.get(FIELD + "?lang=zh-CN").text
    assert "校验规则" in zh and "尚无校验规则" in zh


def test_bad_conditions_are_refused_with_the_engines_words(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get(NEW + "?lang=en").text
    assert 'data-crm-check-url="/studio/entities/customer/expr/check"' in page
    assert 'name="field"' not in page  # a field's rule is reported on the field itself
    unknown = boss.post(NEW + "?lang=en", data=_form(page, condition="credit >= nope", op="save"))
    assert unknown.status_code == 422 and "Nothing was saved" in unknown.text and "nope" in unknown.text
    not_bool = boss.post(NEW + "?lang=en", data=_form(page, condition="credit + 1", op="save"))
    assert not_bool.status_code == 422 and "true or false" in not_bool.text
    silent = boss.post(NEW + "?lang=en", data=_form(page, message_en="", message_zh="", op="save"))
    assert silent.status_code == 422 and "enter the message people see" in silent.text
    zh = boss.post(NEW + "?lang=zh-CN", data=_form(page, condition="", op="save"))
    assert zh.status_code == 422 and "未保存" in zh.text
    assert "rules" not in _credit(svc)


def test_rule_tested_saved_edited_and_removed(boss: FlaskClient, svc: CrmServices) -> None:
    runtime = svc.runtime()
    owes = runtime.create("customer", {"name": "Owes", "credit": -5})["id"]
    runtime.create("customer", {"name": "Fine", "credit": 10})
    runtime.create("customer", {"name": "Blank"})  # an empty value is not judged by a field rule
    page = boss.get(NEW + "?lang=en").text
    tested = boss.post(NEW + "?lang=en", data=_form(page, op="test"))
    assert tested.status_code == 200 and 'class="h2 me-1">1</span>' in tested.text
    assert f'href="/e/customer/{owes}"' in tested.text
    saved = boss.post(NEW, data=_form(page, op="save"))
    assert saved.status_code == 302 and saved.headers["Location"].endswith(FIELD)
    assert _credit(svc)["rules"] == {
        "validations": [
            {
                "condition": "credit >= 0",
                "message": {"en": "Credit <must> not be negative", "zh-CN": "额度不能为负"},
            }
        ]
    }
    listing = boss.get(FIELD + "?lang=en").text
    assert "Credit &lt;must&gt; not be negative" in listing and "<must>" not in listing
    assert "额度不能为负" in listing
    assert "Rules: 1" in boss.get("/studio/entities/customer?lang=en").text
    overview = boss.get("/studio/entities/customer/rules?lang=en").text
    assert 'href="/studio/entities/customer/fields/credit"' in overview and "Rules: 1" in overview
    stale = boss.post(FIELD + "/validations/0", data=_form(page, condition="credit > -100", op="save"))
    assert stale.status_code == 409 and "saved" in stale.text  # the base was read before the save
    edit = boss.get(FIELD + "/validations/0?lang=en").text
    assert 'value="credit &gt;= 0"' in edit
    edited = boss.post(FIELD + "/validations/0", data=_form(edit, condition="credit > -100", op="save"))
    assert edited.status_code == 302
    assert _credit(svc)["rules"]["validations"][0]["condition"] == "credit > -100"
    assert boss.get(FIELD + "/validations/3").status_code == 404
    edit = boss.get(FIELD + "/validations/0").text
    removed = boss.post(
        FIELD + "/validations/0", data={"csrf_token": csrf_of(edit), "op": "delete", "base": _base(edit)}
    )
    assert removed.status_code == 302 and "rules" not in _credit(svc)


def test_other_rules_of_the_field_are_kept(boss: FlaskClient, svc: CrmServices) -> None:
    doc = svc.metadata.draft().documents["entity"]["customer"]
    doc["fields"] = [
        {**f, "rules": {"visible_if": "vip"}} if f["name"] == "credit" else f for f in doc["fields"]
    ]
    svc.metadata.put_document("entity", "customer", doc, "test")
    assert "Shown when" in boss.get(FIELD + "?lang=en").text
    page = boss.get(NEW).text
    assert boss.post(NEW, data=_form(page, op="save")).status_code == 302
    rules = _credit(svc)["rules"]
    assert rules["visible_if"] == "vip" and len(rules["validations"]) == 1
    edit = boss.get(FIELD + "/validations/0").text
    boss.post(
        FIELD + "/validations/0", data={"csrf_token": csrf_of(edit), "op": "delete", "base": _base(edit)}
    )
    assert _credit(svc)["rules"] == {"visible_if": "vip"}


def test_a_field_holds_at_most_twenty_rules(boss: FlaskClient, svc: CrmServices) -> None:
    doc = svc.metadata.draft().documents["entity"]["customer"]
    rule = {"condition": "credit >= 0", "message": {"en": "no"}}
    doc["fields"] = [
        {**f, "rules": {"validations": [rule] * 20}} if f["name"] == "credit" else f for f in doc["fields"]
    ]
    svc.metadata.put_document("entity", "customer", doc, "test")
    assert "crm-new-field-validation" not in boss.get(FIELD).text
    page = boss.get(NEW + "?lang=en").text
    full = boss.post(NEW + "?lang=en", data=_form(page, op="save"))
    assert full.status_code == 422 and "at most 20" in full.text


def test_published_rule_refuses_a_record_in_both_languages(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get(NEW).text
    assert boss.post(NEW, data=_form(page, op="save")).status_code == 302
    review = boss.get("/studio/review?lang=en").text
    assert "Validations: not set → 1 item(s)" in review, review  # the pending change said in words
    published = boss.post("/studio/publish", data={"csrf_token": csrf_of(review), "comment": "credit rule"})
    assert published.status_code == 302, published.text
    for lang, message in (("en", "Credit &lt;must&gt; not be negative"), ("zh-CN", "额度不能为负")):
        form = boss.get(f"/e/customer/new?lang={lang}").text
        data = {"csrf_token": csrf_of(form), "name": "Debtor", "credit": "-3"}
        refused = boss.post(f"/e/customer/new?lang={lang}", data=data)
        assert refused.status_code == 422 and message in refused.text, lang
    form = boss.get("/e/customer/new").text
    fine = boss.post("/e/customer/new", data={"csrf_token": csrf_of(form), "name": "Payer", "credit": "3"})
    assert fine.status_code == 302
