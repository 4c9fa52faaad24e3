"""The report builder page over the shops of the report API tests: pickers offer only fields the user sees,
the live preview runs under her row scope, problems come back translated next to their picker, and a
report is saved for her alone or (by someone who may configure) shared with roles."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.platform.api.apisupport import Api
from tests.platform.api.reportsupport import REPAIR
from tests.platform.pages.reports.test_report_pages import signed_in


def _token(client: FlaskClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/reports/new?entity=sale").text)
    assert found
    return found.group(1)


def _form(client: FlaskClient, **values: str) -> dict[str, str]:
    return {"csrf_token": _token(client), "entity": "sale", "m1": "count", "chart": "bar", **values}


def _error(page: str, slot: str) -> str:
    found = re.search(rf'id="err-{slot}"[^>]*>([^<]*)<', page)
    return found.group(1) if found else ""


def test_pickers_offer_only_the_fields_she_sees(shops: dict[str, Any], api_app: Flask) -> None:
    client = signed_in(api_app, "alice", "alice-password")
    page = client.get("/reports/new?entity=sale&lang=en")
    assert page.status_code == 200
    assert 'value="stage"' in page.text and 'value="sum|amount"' in page.text
    assert 'value="day|month"' in page.text and 'value="created_at|quarter"' in page.text
    assert 'value="owner"' in page.text and 'value="org_unit"' in page.text
    # The phone is masked for store managers: no picker offers it.
    assert "phone" not in page.text
    # She may not configure: no sharing with roles.
    assert 'name="roles"' not in page.text and 'name="scope" value="personal"' in page.text
    assert client.get("/reports/new?entity=nope").status_code == 404


def test_the_preview_runs_under_her_row_scope(shops: dict[str, Any], api_app: Flask) -> None:
    client = signed_in(api_app, "alice", "alice-password")
    answer = client.post(
        "/reports/builder/preview",
        data=_form(client, dim1="stage", m2="sum|amount", sort="-m2", chart="table"),
    )
    assert answer.status_code == 200
    cells = re.findall(r'class="drill">([^<]+)<', answer.text)
    # Her store only: A1 new 10.50, A2+A3 paid 21.25; bob's 100.00 is not hers. Largest sum first.
    assert cells == ["2", "21.25", "1", "10.50"]
    assert "/e/sale?stage=paid" in answer.text


def test_problems_are_translated_next_to_their_picker(shops: dict[str, Any], api_app: Flask) -> None:
    client = signed_in(api_app, "alice", "alice-password")
    client.get("/reports/new?lang=zh-CN")
    answer = client.post("/reports/builder/preview", data=_form(client, dim1="amount", limit="0"))
    assert "前 N 项须为 1 到 1000 的整数" in _error(answer.text, "limit")
    answer = client.post("/reports/builder/preview", data=_form(client, dim1="amount"))
    assert "此字段不能作为分组维度" in _error(answer.text, "dim1")
    answer = client.post("/reports/builder/preview", data=_form(client, m1="sum|code"))
    assert "此计算方式不适用于该字段" in _error(answer.text, "m1")
    answer = client.post(
        "/reports/builder/preview", data=_form(client, f2_field="amount", f2_op="gt", f2_value="x")
    )
    assert "该值与字段类型不符" in _error(answer.text, "f2")
    # A crafted request for the masked phone is refused by the runtime, in words.
    answer = client.post("/reports/builder/preview", data=_form(client, m1="count_distinct|phone"))
    assert "你无权查看" in answer.text and "phone" in answer.text


def test_a_personal_report_is_hers_alone(shops: dict[str, Any], api_app: Flask) -> None:
    client = signed_in(api_app, "alice", "alice-password")
    refused = client.post("/reports/builder/save", data=_form(client, dim1="stage", label=""))
    assert refused.status_code == 400 and _error(refused.text, "label")
    shared = client.post(
        "/reports/builder/save", data=_form(client, dim1="stage", label="Mine", scope="shared")
    )
    assert shared.status_code == 400 and _error(shared.text, "scope")
    saved = client.post(
        "/reports/builder/save", data=_form(client, dim1="day|month", label="Orders by month")
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/reports/orders_by_month")
    page = client.get("/reports/orders_by_month")
    assert page.status_code == 200 and "2026-11-01" in page.text
    assert "/reports/orders_by_month" in client.get("/reports").text
    edit = client.get("/reports/orders_by_month/edit")
    assert edit.status_code == 200 and 'value="day|month" selected' in edit.text
    other = signed_in(api_app, "bob", "bob-password-long-enough")
    assert other.get("/reports/orders_by_month").status_code == 404


def test_an_administrator_shares_a_report_with_roles(
    shops: dict[str, Any], api_app: Flask, user: Api
) -> None:
    client = signed_in(api_app, "admin", "admin-password")
    page = client.get("/reports/new?entity=sale")
    assert 'name="roles" value="store_manager"' in page.text
    taken = client.post("/reports/builder/save", data=_form(client, dim1="stage", label="x", name="by_stage"))
    assert taken.status_code == 400 and _error(taken.text, "name")
    saved = client.post(
        "/reports/builder/save",
        data=_form(
            client, dim1="stage", label="Stages", name="stages", scope="shared", roles="store_manager"
        ),
    )
    assert saved.status_code == 302
    # Published at once (nothing else waited in the draft): the store manager sees it, on her rows.
    assert "stages" in [r["name"] for r in user.ok("GET", "/reports")["items"]]
    rows = user.ok("GET", "/reports/stages/run")["rows"]
    assert sum(r["count"] for r in rows) == 3


def test_a_duration_measure_built_previewed_saved_and_opened_again(
    shops: dict[str, Any], api_app: Flask, admin: Api
) -> None:
    admin.define("entity", "repair", REPAIR)
    admin.publish("repairs")
    for fixed in ("2026-11-02T14:30:00Z", "2026-11-02T11:30:00Z"):  # 6.5 and 3.5 hours
        admin.ok(
            "POST", "/records/repair", {"reported_at": "2026-11-02T08:00:00Z", "fixed_at": fixed}, status=201
        )
    client = signed_in(api_app, "admin", "admin-password")
    page = client.get("/reports/new?entity=repair&lang=zh-CN")
    assert '<option value="avg">平均时长</option>' in page.text
    assert (
        '<option value="fixed_at">修复时间</option>' in page.text
        and '<option value="created_at">' in page.text
    )
    mttr = {"dur_fn": "avg", "dur_since": "reported_at", "dur_field": "fixed_at", "dur_unit": "hours"}
    answer = client.post(
        "/reports/builder/preview", data={**_form(client, chart="table", **mttr), "entity": "repair"}
    )
    assert "报修时间至修复时间平均时长（小时）" in answer.text
    assert re.findall(r'class="drill">([^<]+)<', answer.text) == ["2", "5"]
    # The same date twice, or a date with a date-time, is a problem next to the duration row.
    same = client.post(
        "/reports/builder/preview",
        data={**_form(client, **{**mttr, "dur_field": "reported_at"}), "entity": "repair"},
    )
    assert "请选择两个不同的日期字段" in _error(same.text, "dur")
    saved = client.post(
        "/reports/builder/save",
        data={**_form(client, label="MTTR", name="mttr", sort="-dur", **mttr), "entity": "repair"},
    )
    assert saved.status_code == 302
    doc = admin.ok("GET", "/reports/mttr")
    assert doc["query"]["measures"][1] == {
        "function": "avg",
        "field": "fixed_at",
        "since": "reported_at",
        "unit": "hours",
    }
    assert doc["query"]["sort"] == ["-avg__fixed_at__since__reported_at"]
    edit = client.get("/reports/mttr/edit").text
    for name, value in (*mttr.items(), ("sort", "-dur")):
        assert re.search(rf'name="{name}">(?:(?!</select>).)*<option value="{value}" selected', edit, re.S), (
            name
        )
