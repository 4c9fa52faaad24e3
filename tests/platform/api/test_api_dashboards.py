"""Dashboards over the API: checked at publish, each widget answered on its own under the viewer's scope,
numbers compared with the previous period, a home dashboard per role."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.platform.api.apisupport import Api, paths_of
from tests.platform.api.reportsupport import user_id

TODAY = dt.datetime.now(dt.UTC).date()
LAST_MONTH = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=3)
BOARD = {
    "label": {"en": "Sales desk", "zh-CN": "销售驾驶舱"},
    "roles": ["store_manager"],
    "home": True,
    "widgets": [
        {
            "type": "number",
            "title": {"en": "Sales this month"},
            "entity": "sale",
            "measure": {"function": "sum", "field": "amount"},
            "date_field": "day",
            "period": "month",
            "filters": [{"field": "code", "op": "in", "value": "A4,A5,B1"}],
        },
        {"type": "report", "report": "by_stage", "width": 6},
        {"type": "list", "entity": "sale", "columns": ["code", "amount"], "sort": "-amount", "limit": 2},
    ],
}


@pytest.fixture
def board(shops: dict[str, Any], admin: Api, user: Api) -> None:
    user.ok(
        "POST",
        "/records/sale",
        {"code": "A4", "stage": "new", "amount": "5.00", "day": TODAY.isoformat()},
        status=201,
    )
    user.ok(
        "POST",
        "/records/sale",
        {"code": "A5", "stage": "new", "amount": "2.00", "day": LAST_MONTH.isoformat()},
        status=201,
    )
    admin.define("dashboard", "sales_desk", BOARD)
    admin.publish("dashboard")


def test_each_widget_answers_for_the_viewer(board: None, user: Api, admin: Api) -> None:
    described = user.ok("GET", "/dashboards/sales_desk")
    assert [(w["type"], w["width"]) for w in described["widgets"]] == [
        ("number", 3),
        ("report", 6),
        ("list", 6),
    ]
    number = user.ok("GET", "/dashboards/sales_desk/widgets/0")
    assert (number["value"], number["previous"]) == (5.0, 2.0) and number["change"] == pytest.approx(1.5)
    report = user.ok("GET", "/dashboards/sales_desk/widgets/1")
    assert [(r["stage"], r["count"]) for r in report["rows"]] == [("new", 3), ("paid", 2)]
    listed = user.ok("GET", "/dashboards/sales_desk/widgets/2")
    assert [i["code"] for i in listed["items"]] == ["A2", "A1"]
    assert [c["key"] for c in listed["columns"]] == ["code", "amount"]
    assert [i["code"] for i in admin.ok("GET", "/dashboards/sales_desk/widgets/2")["items"]] == ["B1", "A2"]
    assert user.get("/dashboards/sales_desk/widgets/3").status_code == 404


def test_home_dashboard_follows_the_roles(board: None, user: Api, admin: Api, api_svc: Any) -> None:
    assert user.ok("GET", "/dashboards/home?lang=zh-CN")["label"] == "销售驾驶舱"
    admin.ok("DELETE", f"/access/users/{user_id(api_svc, 'alice')}/roles/store_manager", status=204)
    assert user.get("/dashboards/home").status_code == 404
    assert user.get("/dashboards/sales_desk").status_code == 404
    assert user.ok("GET", "/dashboards")["items"] == []


def test_dashboards_that_do_not_fit_are_refused_at_publish(shops: dict[str, Any], admin: Api) -> None:
    admin.define(
        "dashboard",
        "broken",
        {
            "widgets": [
                {"type": "report", "report": "nope"},
                {"type": "number", "entity": "sale", "measure": {"function": "sum", "field": "stage"}},
                {"type": "number", "entity": "sale", "date_field": "code"},
                {"type": "list", "entity": "ghost"},
                {"type": "list", "entity": "sale", "columns": ["zip"]},
            ]
        },
    )
    refused = admin.post("/meta/publish", {"comment": "broken"})
    assert refused.status_code == 422
    assert paths_of(refused) == {
        "dashboard.broken.widgets[0].report",
        "dashboard.broken.widgets[1]",
        "dashboard.broken.widgets[2].date_field",
        "dashboard.broken.widgets[3].entity",
        "dashboard.broken.widgets[4].columns",
    }
