"""The studio's lead-pool pages: an entity's pool settings (hidden fields, claim limit, return after N days
without follow-up unless a condition holds) checked and saved into the draft, tested on live data without
changing anything, published and then obeyed by the periodic return; who may claim saved as role
permissions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.access import AccessAdmin
from metamodel.pool.config import pool_config
from rule_engine.scheduler.pool_return import PoolReturnJob
from tests.platform.pages.conftest import admin_client, csrf_of

URL = "/studio/entities/customer/pool"
GOOD = {
    "enabled": "on",
    "contact_fields": "email",
    "claim_limit": "5",
    "return_after_days": "30",
    "follow_up_field": "seen_at",
    "return_unless": 'tier == "gold"',
}


@pytest.fixture
def boss(site_app: Flask, svc: CrmServices) -> FlaskClient:
    """An administrator signed in."""
    return admin_client(site_app, svc)


def _form(page: str, **values: Any) -> dict[str, Any]:
    base = re.search(r'name="base" value="([^"]*)"', page)
    assert base is not None
    return {"csrf_token": csrf_of(page), "base": base.group(1), "op": "save", **values}


def _pool(svc: CrmServices) -> Any:
    return svc.metadata.draft().documents["entity"]["customer"].get("pool")


def test_non_configurers_get_403(site_app: Flask, client: FlaskClient) -> None:
    token = csrf_of(client.get("/").text)
    for path in ("/studio/pool", URL):
        assert client.get(path).status_code == 403, path
    assert client.post(URL, data={"csrf_token": token, **GOOD}).status_code == 403
    assert client.post(URL + "/claimers", data={"csrf_token": token, "roles": "x"}).status_code == 403


def test_pool_settings_saved_into_the_draft(boss: FlaskClient, svc: CrmServices) -> None:
    overview = boss.get("/studio/pool?lang=en").text
    assert "No pool" in overview and 'href="/studio/entities/customer/pool"' in overview
    assert "/studio/entities/line/pool" not in overview  # child tables have no pool
    page = boss.get(URL + "?lang=en").text
    assert 'name="enabled" id="pool-enabled">' in page  # off
    assert 'name="contact_fields" value="name"' not in page  # the title always shows
    assert 'data-crm-want="sql_condition"' in page
    saved = boss.post(URL, data=_form(page, **GOOD))
    assert saved.status_code == 302
    assert _pool(svc) == {
        "contact_fields": ["email"],
        "claim_limit": 5,
        "return_after_days": 30,
        "follow_up_field": "seen_at",
        "return_unless": 'tier == "gold"',
    }
    shown = boss.get(URL + "?lang=en").text
    assert 'id="pool-enabled" checked' in shown and 'value="30"' in shown
    overview = boss.get("/studio/pool?lang=zh-CN").text
    assert "超过 30 天未跟进退回公海" in overview and "每人最多领取 5 条" in overview
    review = boss.get("/studio/review?lang=en").text
    assert "Lead pool: not set → 5 setting(s)" in review  # the pending change said in words
    page = boss.get(URL).text
    assert boss.post(URL, data=_form(page, enabled="")).status_code == 302
    assert _pool(svc) is None


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"return_unless": "nope == 1"}, "nope"),
        ({"return_unless": "credit + 1"}, "true or false"),
        ({"return_unless": "len(name) > 3"}, "the database must be able to judge"),
        ({"return_after_days": "0"}, "whole number from 1 to 3650"),
        ({"claim_limit": "many"}, "whole number from 1 to 100000"),
        ({"follow_up_field": "tier"}, "date or date-time field"),
        ({"return_after_days": ""}, "enter the days without follow-up"),
        ({"contact_fields": "name"}, "not its title"),
    ],
)
def test_bad_settings_are_refused_in_words(
    boss: FlaskClient, svc: CrmServices, values: dict[str, str], said: str
) -> None:
    page = boss.get(URL + "?lang=en").text
    refused = boss.post(URL + "?lang=en", data=_form(page, **{**GOOD, **values}))
    assert refused.status_code == 422 and said in refused.text, refused.text
    assert "Nothing was saved" in refused.text and _pool(svc) is None


def test_refusals_in_chinese_and_stale_saves(boss: FlaskClient, svc: CrmServices) -> None:
    page = boss.get(URL).text
    zh = boss.post(URL + "?lang=zh-CN", data=_form(page, **{**GOOD, "return_after_days": "x"}))
    assert zh.status_code == 422 and "请输入 1 到 3650 之间的整数" in zh.text
    assert boss.post(URL, data=_form(page, **GOOD)).status_code == 302
    stale = boss.post(URL + "?lang=en", data=_form(page, **{**GOOD, "claim_limit": "9"}))
    assert stale.status_code == 409 and _pool(svc)["claim_limit"] == 5


def test_live_test_changes_nothing_and_the_published_rule_is_obeyed(
    boss: FlaskClient, svc: CrmServices
) -> None:
    runtime = svc.runtime()
    seller = create_user(svc.engine, "seller", "Tq8#vLm2-Rainforest").id
    quiet = runtime.create("customer", {"name": "Quiet <co>", "tier": "silver", "owner_id": seller})["id"]
    gold = runtime.create("customer", {"name": "Gold", "tier": "gold", "owner_id": seller})["id"]
    runtime.create("customer", {"name": "Pooled"})
    real = svc.rules.clock
    svc.rules.clock = lambda: real() + dt.timedelta(days=40)
    page = boss.get(URL + "?lang=en").text
    tested = boss.post(URL + "?lang=en", data=_form(page, **{**GOOD, "op": "test"}))
    assert tested.status_code == 200 and 'class="h2 me-1">1</span>' in tested.text
    assert f'href="/e/customer/{quiet}"' in tested.text and "Quiet &lt;co&gt;" in tested.text
    assert runtime.get("customer", quiet)["owner_id"] == seller  # rolled back
    assert _pool(svc) is None  # testing saves nothing
    without = boss.post(URL + "?lang=en", data=_form(page, **{**GOOD, "return_unless": "", "op": "test"}))
    assert 'class="h2 me-1">2</span>' in without.text
    assert boss.post(URL, data=_form(page, **GOOD)).status_code == 302
    review = boss.get("/studio/review").text
    assert (
        boss.post("/studio/publish", data={"csrf_token": csrf_of(review), "comment": "pool"}).status_code
        == 302
    )
    model = svc.metadata.model()
    assert pool_config(model.entity("customer").entity) is not None
    job = PoolReturnJob(svc.metadata.model, functions=svc.rules.functions)
    with svc.engine.begin() as conn:
        assert job.run(conn, svc.rules.clock()) == {"customer": 1}
    assert svc.runtime().get("customer", quiet)["owner_id"] is None
    assert svc.runtime().get("customer", gold)["owner_id"] == seller


def test_who_may_claim_is_the_roles_claim_permission(boss: FlaskClient, svc: CrmServices) -> None:
    admin = AccessAdmin(svc.engine, svc.clock)
    admin.create_role("sales", {"en": "Sales", "zh-CN": "销售"})
    admin.create_role("boss_role")
    admin.grant("boss_role", "*", "claim")
    page = boss.get(URL + "?lang=en").text
    assert "Sales" in page and "may claim on every entity" in page
    assert "Access control is off" not in page  # granting above switched it on
    saved = boss.post(URL + "/claimers?lang=en", data={"csrf_token": csrf_of(page), "roles": ["sales"]})
    assert saved.status_code == 302
    assert {"entity": "customer", "operation": "claim", "scope": "all"} in admin.permissions("sales")
    assert {"entity": "*", "operation": "claim", "scope": "all"} in admin.permissions("boss_role")
    shown = boss.get(URL).text
    assert re.search(r'value="sales" checked', shown)
    boss.post(URL + "/claimers", data={"csrf_token": csrf_of(shown)})
    assert admin.permissions("sales") == []
    assert admin.permissions("boss_role")  # the every-entity grant is the access matrix's business


def test_the_editor_check_says_when_the_database_cannot_judge(boss: FlaskClient) -> None:
    token = csrf_of(boss.get(URL).text)

    def check(text: str, want: str) -> dict[str, Any]:
        data = {"csrf_token": token, "expression": text, "want": want}
        found: dict[str, Any] = boss.post(
            "/studio/entities/customer/expr/check?lang=en", data=data
        ).get_json()
        return found

    assert check('tier == "gold"', "sql_condition")["ok"]
    assert check("len(name) > 3", "condition")["ok"]  # fine for a validation, judged in Python
    said = check("len(name) > 3", "sql_condition")
    assert not said["ok"] and "the database must be able to judge" in said["message"]
    assert "true or false" in check("credit", "sql_condition")["message"]


def test_live_test_of_a_field_only_the_draft_has(boss: FlaskClient, svc: CrmServices) -> None:
    doc = svc.metadata.draft().documents["entity"]["customer"]
    doc["fields"] = [*doc["fields"], {"name": "called_at", "type": "date"}]
    svc.metadata.put_document("entity", "customer", doc, "test")
    page = boss.get(URL + "?lang=en").text
    for values in ({"follow_up_field": "called_at"}, {"return_unless": "called_at == null"}):
        tested = boss.post(URL + "?lang=en", data=_form(page, **{**GOOD, **values, "op": "test"}))
        assert tested.status_code == 200 and "not published yet" in tested.text, values
