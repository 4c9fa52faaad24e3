"""The studio's form designer: layout into tabs, sections and columns, per-field overrides and conditions
saved into the draft through the metadata service, conditions checked by the rule engine, the preview."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from tests.platform.pages.conftest import admin_client, csrf_of


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return found.group(1)


LAYOUT = [
    {"label": "Main", "sections": [{"label": "Who", "columns": 2, "fields": ["name", "tier", "vip"]}]},
    {"label": "More", "sections": [{"label": "", "columns": 1, "fields": ["credit", "nobody", "name"]}]},
]


def _form(page: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(page),
        "base_entity": _hidden(page, "base_entity"),
        "base_form": _hidden(page, "base_form"),
        "layout": json.dumps(LAYOUT),
        **extra,
    }


def test_non_configurers_get_403(site_app: Flask, client: FlaskClient) -> None:
    token = csrf_of(client.get("/").text)
    assert client.get("/studio/entities/customer/form").status_code == 403
    for path in ("", "/check", "/preview"):
        assert (
            client.post(f"/studio/entities/customer/form{path}", data={"csrf_token": token}).status_code
            == 403
        )


def test_design_save_and_conditions(site_app: Flask, svc: CrmServices) -> None:
    boss = admin_client(site_app, svc)
    page = boss.get("/studio/entities/customer/form?lang=en").text
    assert "Form designer" in page and 'data-field="tier"' in page and _hidden(page, "base_form") == ""
    assert boss.post("/studio/entities/customer/form", data={"layout": "[]"}).status_code == 400  # CSRF
    data = _form(
        page,
        **{
            "p-vip-label_en": "VIP <client>",
            "p-vip-help": "Only for gold",
            "p-credit-readonly": "on",
            "p-vip-visible_if": 'tier == "gold"',
            "p-credit-required_if": "vip",
        },
    )
    saved = boss.post("/studio/entities/customer/form?lang=en", data=data)
    assert saved.status_code == 302
    form = svc.metadata.draft().documents["form"]["customer_form"]
    assert form["entity"] == "customer"
    assert [[s["fields"] for s in tab["sections"]] for tab in form["tabs"]] == [
        [["name", "tier", "vip"]],
        [["credit"]],
    ]
    assert form["tabs"][0]["label"] == {"en": "Main"} and form["tabs"][0]["sections"][0]["columns"] == 2
    assert form["overrides"] == {
        "vip": {"label": {"en": "VIP <client>"}, "help": {"en": "Only for gold"}},
        "credit": {"readonly": True},
    }
    fields = {f["name"]: f for f in svc.metadata.draft().documents["entity"]["customer"]["fields"]}
    assert fields["vip"]["rules"] == {"visible_if": 'tier == "gold"'}
    assert fields["credit"]["rules"] == {"required_if": "vip"}
    again = boss.get("/studio/entities/customer/form?lang=en").text
    assert "VIP &lt;client&gt;" in again and "VIP <client>" not in again
    review = boss.get("/studio/review?lang=en").text
    assert "New form: customer_form" in review and "Shown when: not set → “tier == &#34;gold&#34;”" in review
    assert not svc.metadata.validate_draft()


def test_a_bad_condition_is_refused_with_the_engines_message(site_app: Flask, svc: CrmServices) -> None:
    boss = admin_client(site_app, svc)
    page = boss.get("/studio/entities/customer/form?lang=en").text
    checked = boss.post(
        "/studio/entities/customer/form/check", data=_form(page, expression='tier == "gold" and nope')
    ).get_json()
    assert checked["ok"] is False and "nope" in checked["message"] and checked["position"] == 19
    number = boss.post("/studio/entities/customer/form/check", data=_form(page, expression="credit + 1"))
    assert number.get_json()["ok"] is False and "true or false" in number.get_json()["message"]
    good = boss.post("/studio/entities/customer/form/check", data=_form(page, expression="vip"))
    assert good.get_json() == {"ok": True, "message": "", "position": None}
    refused = boss.post("/studio/entities/customer/form", data=_form(page, **{"p-vip-visible_if": "nope +"}))
    assert refused.status_code == 303 and "customer_form" not in svc.metadata.draft().documents["form"]


def test_preview_judges_conditions_on_the_server(site_app: Flask, svc: CrmServices) -> None:
    boss = admin_client(site_app, svc)
    page = boss.get("/studio/entities/customer/form?lang=zh-CN").text
    data = _form(page, **{"p-vip-visible_if": 'tier == "gold"', "p-tier-label_zh": "<等级>"})
    silver = boss.post(
        "/studio/entities/customer/form/preview?lang=zh-CN", data={**data, "tier": "silver"}
    ).text
    assert re.search(r'data-field="vip"[^>]*hidden', silver) and "&lt;等级&gt;" in silver
    gold = boss.post("/studio/entities/customer/form/preview", data={**data, "tier": "gold"}).text
    assert 'data-field="vip"' in gold and not re.search(r'data-field="vip"[^>]*hidden', gold)
    assert "customer_form" not in svc.metadata.draft().documents["form"]  # the preview saves nothing


def test_a_stale_designer_save_is_refused(site_app: Flask, svc: CrmServices) -> None:
    ann, bob = admin_client(site_app, svc, "ann"), admin_client(site_app, svc, "bob")
    pages = [ann.get("/studio/entities/customer/form").text, bob.get("/studio/entities/customer/form").text]
    assert (
        ann.post("/studio/entities/customer/form", data=_form(pages[0], **{"p-vip-help": "ann"})).status_code
        == 302
    )
    late = bob.post("/studio/entities/customer/form?lang=en", data=_form(pages[1], **{"p-vip-help": "bob"}))
    assert late.status_code == 303
    assert svc.metadata.draft().documents["form"]["customer_form"]["overrides"]["vip"]["help"] == {
        "en": "ann"
    }
    assert "ann saved this form or entity after you opened it" in bob.get(late.location + "?lang=en").text


def test_saving_in_chinese_keeps_the_english_labels(site_app: Flask, svc: CrmServices) -> None:
    boss = admin_client(site_app, svc)
    svc.metadata.put_document(
        "form",
        "customer_form",
        {
            "entity": "customer",
            "tabs": [{"sections": [{"label": {"en": "Who", "zh-CN": "客户"}, "fields": ["name"]}]}],
            "overrides": {"name": {"help": {"en": "Full name", "zh-CN": "全名"}}},
        },
        "test",
    )
    page = boss.get("/studio/entities/customer/form?lang=zh-CN").text
    assert 'value="客户"' in page and 'value="全名"' in page
    layout = [{"label": "", "sections": [{"label": "客户", "columns": 1, "fields": ["name"]}]}]
    data = {**_form(page, **{"p-name-help": "全名"}), "layout": json.dumps(layout)}
    assert boss.post("/studio/entities/customer/form?lang=zh-CN", data=data).status_code == 302
    form = svc.metadata.draft().documents["form"]["customer_form"]
    assert form["tabs"][0]["sections"][0]["label"] == {"en": "Who", "zh-CN": "客户"}
    assert form["overrides"]["name"]["help"] == {"en": "Full name", "zh-CN": "全名"}
