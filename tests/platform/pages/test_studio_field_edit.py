"""The studio's field editor: common settings, a select's options, rename and retype, each saved into the
draft through the metadata service, refused with the engine's words beside the input, refused as stale
when someone else saved first; what publishing would do to stored records is shown before publishing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from tests.platform.pages.conftest import admin_client, csrf_of

TIER = "/studio/entities/customer/fields/tier"
CREDIT = "/studio/entities/customer/fields/credit"


@pytest.fixture
def boss(site_app: Flask, svc: CrmServices) -> FlaskClient:
    """An administrator signed in."""
    return admin_client(site_app, svc)


def _base(page: str) -> str:
    found = re.search(r'name="base" value="([^"]*)"', page)
    assert found is not None
    return found.group(1)


def _field(svc: CrmServices, name: str) -> dict[str, Any]:
    fields = svc.metadata.draft().documents["entity"]["customer"]["fields"]
    found: dict[str, Any] = next(f for f in fields if f["name"] == name)
    return found


def _settings(page: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(page),
        "base": _base(page),
        "op": "settings",
        "label_en": "Credit <limit>",
        "label_zh": "信用额度",
        "help_en": "In yuan",
        "help_zh": "",
        "indexed": "on",
        "default": "100",
        **extra,
    }


def test_non_configurers_get_403(site_app: Flask, client: FlaskClient) -> None:
    token = csrf_of(client.get("/").text)
    assert client.post(CREDIT, data={"csrf_token": token, "op": "settings"}).status_code == 403


def test_post_without_csrf_is_refused(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get(CREDIT).text
    form = _settings(page)
    del form["csrf_token"]
    assert boss.post(CREDIT, data=form).status_code == 400
    assert "label" not in _field(svc, "credit")


def test_settings_saved_into_the_draft_and_escaped(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get(CREDIT + "?lang=en").text
    assert 'name="label_en"' in page and 'value="settings"' in page
    saved = boss.post(CREDIT + "?lang=en", data=_settings(page))
    assert saved.status_code == 302
    credit = _field(svc, "credit")
    assert credit["label"] == {"en": "Credit <limit>", "zh-CN": "信用额度"}
    assert credit["help"] == {"en": "In yuan"} and credit["indexed"] is True
    assert "required" not in credit and "unique" not in credit
    assert credit["default"] == "100" or float(credit["default"]) == 100
    assert credit["id"]  # the id stays, so the published column is the same
    again = boss.get(CREDIT + "?lang=en").text
    assert "Credit &lt;limit&gt;" in again and "Credit <limit>" not in again
    assert "Settings of credit saved in the draft." in again
    zh = boss.get(CREDIT + "?lang=zh-CN").text
    assert "编辑字段" in zh and "默认值" in zh


def test_engine_problems_are_shown_beside_the_input(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get(CREDIT + "?lang=en").text
    bad = boss.post(CREDIT + "?lang=en", data=_settings(page, default="lots"))
    assert bad.status_code == 422
    assert "Nothing was saved" in bad.text
    assert 'id="fs-default-err"' in bad.text and 'aria-describedby="fs-default-err"' in bad.text
    assert "default" not in _field(svc, "credit")
    lines = boss.get("/studio/entities/customer/fields/lines?lang=zh-CN").text
    refused = boss.post(
        "/studio/entities/customer/fields/lines?lang=zh-CN",
        data=_settings(lines, default="", unique="on", indexed=""),
    )  # the engine: a child table has no column, so it cannot be unique
    assert refused.status_code == 422, refused.text[:500]
    assert "未保存任何内容" in refused.text and 'id="fs-unique-err"' in refused.text
    assert "cannot be unique" in refused.text
    assert "unique" not in _field(svc, "lines")


def test_a_stale_draft_is_refused_with_409(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get(CREDIT + "?lang=en").text
    other = svc.metadata.draft().documents["entity"]["customer"]
    other["label"] = {"en": "Client"}
    svc.metadata.put_document("entity", "customer", other, "lin")
    stale = boss.post(CREDIT + "?lang=en", data=_settings(page))
    assert stale.status_code == 409
    assert "lin saved this entity after you opened it" in stale.text
    assert "label" not in _field(svc, "credit")


def _options(page: str, rows: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {
        "csrf_token": csrf_of(page),
        "base": _base(page),
        "op": "options",
        "opt_value": [r[0] for r in rows],
        "opt_en": [r[1] for r in rows],
        "opt_zh": [r[2] for r in rows],
        "opt_color": [r[3] for r in rows],
    }


def test_options_reordered_relabelled_and_coloured(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get(TIER + "?lang=en").text
    assert 'id="option-list"' in page and "Sortable.min.js" in page
    rows = [
        ("silver", "Silver", "银卡", "azure"),
        ("gold", "Gold", "金卡", "yellow"),
        ("bronze", "", "", "pink"),
    ]
    assert boss.post(TIER, data=_options(page, rows)).status_code == 302
    options = _field(svc, "tier")["options"]
    assert [o["value"] for o in options] == ["silver", "gold", "bronze"]
    assert options[0] == {"value": "silver", "color": "azure", "label": {"en": "Silver", "zh-CN": "银卡"}}
    assert "label" not in options[2]
    page = boss.get(TIER + "?lang=en").text
    bad = [("gold", "", "", "notacolour"), ("gold", "", "", "red"), ("", "x", "", "red")]
    refused = boss.post(TIER + "?lang=en", data=_options(page, bad))
    assert refused.status_code == 422
    assert "the value &#39;gold&#39; is used by two options" in refused.text
    assert "every option needs a value" in refused.text
    assert [o["value"] for o in _field(svc, "tier")["options"]] == ["silver", "gold", "bronze"]


def test_removing_an_option_in_use_shows_the_data_check(boss: FlaskClient, svc: CrmServices) -> None:
    svc.runtime().create("customer", {"name": "Ann", "tier": "gold"})
    svc.runtime().create("customer", {"name": "Bo", "tier": "silver"})
    page = boss.get(TIER + "?lang=en").text
    assert "What publishing would do" not in page
    assert boss.post(TIER, data=_options(page, [("silver", "Silver", "", "gray")])).status_code == 302
    shown = boss.get(TIER + "?lang=en").text
    assert "What publishing would do to the records" in shown
    assert "1 record(s) of customer still use the removed option &#39;gold&#39; of tier" in shown
    assert "Blocks publishing" in shown and ">Ann</a>" in shown
    assert "you choose a remaining option for these records" in shown
    zh = boss.get(TIER + "?lang=zh-CN").text
    assert "仍在使用 tier 中被删除的选项“gold”" in zh


def test_publish_asks_where_records_of_a_removed_option_go(boss: FlaskClient, svc: CrmServices) -> None:
    ann = svc.runtime().create("customer", {"name": "Ann", "tier": "gold"})
    page = boss.get(TIER).text
    assert boss.post(TIER, data=_options(page, [("silver", "Silver", "", "gray")])).status_code == 302
    review = boss.get("/studio/review?lang=zh-CN").text
    assert 'name="remap:customer:tier:gold"' in review and "改为 Silver" in review
    token = csrf_of(review)
    refused = boss.post("/studio/publish?lang=zh-CN", data={"csrf_token": token, "comment": "x"})
    assert refused.status_code == 422 and "仍在使用 tier 中被删除的选项“gold”" in refused.text
    assert svc.metadata.active_version() == 1
    wrong = boss.post(
        "/studio/publish?lang=en", data={"csrf_token": token, "remap:customer:tier:gold": "platinum"}
    )
    assert wrong.status_code == 422 and svc.metadata.active_version() == 1
    done = boss.post("/studio/publish", data={"csrf_token": token, "remap:customer:tier:gold": "silver"})
    assert done.status_code == 302 and svc.metadata.active_version() == 2
    assert svc.runtime().get("customer", ann["id"])["tier"] == "silver"


def test_rename_keeps_the_id_and_the_data(boss: FlaskClient, svc: CrmServices) -> None:
    record = svc.runtime().create("customer", {"name": "Ann", "credit": 7})
    before = _field(svc, "credit")["id"]
    page = boss.get(CREDIT + "?lang=en").text
    taken = boss.post(
        CREDIT + "?lang=en",
        data={"csrf_token": csrf_of(page), "base": _base(page), "op": "rename", "new_name": "name"},
    )
    assert taken.status_code == 422 and 'id="fa-name-err"' in taken.text
    page = boss.get(CREDIT + "?lang=en").text
    bad = boss.post(
        CREDIT + "?lang=en",
        data={"csrf_token": csrf_of(page), "base": _base(page), "op": "rename", "new_name": "Bad Name"},
    )
    assert bad.status_code == 422 and 'id="fa-name-err"' in bad.text
    reserved = boss.post(
        CREDIT + "?lang=en",
        data={"csrf_token": csrf_of(page), "base": _base(page), "op": "rename", "new_name": "limit"},
    )
    assert reserved.status_code == 422 and "field name &#39;limit&#39; is a reserved word" in reserved.text
    done = boss.post(
        CREDIT,
        data={"csrf_token": csrf_of(page), "base": _base(page), "op": "rename", "new_name": "credit_limit"},
    )
    assert done.status_code == 302, re.findall(
        r"invalid-feedback[^<]*<|alert-danger[^\n]*\n[^\n]*", done.text
    )
    assert done.headers["Location"].endswith("/fields/credit_limit")
    assert _field(svc, "credit_limit")["id"] == before
    svc.metadata.publish("boss", "rename")
    assert svc.runtime().get("customer", record["id"])["credit_limit"] in ("7.00", 7)


def test_retype_shows_the_conversion_report_before_publishing(boss: FlaskClient, svc: CrmServices) -> None:
    svc.runtime().create("customer", {"name": "Ann", "email": "ann@example.com"})
    svc.runtime().create("customer", {"name": "Bo <b>", "email": "bo@example.com"})
    email = "/studio/entities/customer/fields/email"
    page = boss.get(email + "?lang=en").text
    assert 'name="new_type"' in page
    done = boss.post(
        email, data={"csrf_token": csrf_of(page), "base": _base(page), "op": "retype", "new_type": "integer"}
    )
    assert done.status_code == 302
    assert _field(svc, "email")["type"] == "integer"
    shown = boss.get(email + "?lang=en").text
    assert "2 record(s) of customer have email values that cannot become integer" in shown
    assert "Bo &lt;b&gt;" in shown and "bo@example.com" in shown
    number = svc.metadata.active_version()
    assert number is not None
    active = svc.metadata.bundle_of(number).documents["entity"]["customer"]["fields"]
    assert next(f for f in active if f["name"] == "email")["type"] == "email"  # nothing published
    zh = boss.get(email + "?lang=zh-CN").text
    assert "无法转换为 integer" in zh
