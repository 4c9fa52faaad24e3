"""Reports over the API: saved in the metadata, checked at publish, run under the viewer's row scope,
refused on fields hidden or masked for her, labelled in her language, exported as CSV, kept by rollback."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.systables import users
from tests.platform.api.apisupport import Api, error_of, options, paths_of

ORDER = {
    "label": {"en": "Order", "zh-CN": "订单"},
    "title_field": "code",
    "fields": [
        {"name": "code", "type": "text", "label": {"en": "Code"}},
        {
            "name": "stage",
            "type": "select",
            "label": {"en": "Stage", "zh-CN": "阶段"},
            "options": options("new", "paid"),
        },
        {"name": "amount", "type": "decimal", "label": {"en": "Amount", "zh-CN": "金额"}},
        {"name": "phone", "type": "phone"},
        {"name": "day", "type": "date"},
    ],
}
BY_STAGE = {
    "entity": "sale",
    "label": {"en": "Sales by stage", "zh-CN": "各阶段销售额"},
    "query": {
        "dimensions": ["stage"],
        "measures": [{"function": "count"}, {"function": "sum", "field": "amount"}],
        "sort": ["stage"],
    },
    "chart": {"type": "bar"},
}


def user_id(svc: CrmServices, username: str) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one())


@pytest.fixture
def bob(api_app: Flask, api_svc: CrmServices) -> Api:
    account = create_user(api_svc.engine, "bob", "bob-password-long-enough")
    return Api(api_app.test_client(), create_token(api_svc.engine, account.id, "tests"))


@pytest.fixture
def shops(admin: Api, user: Api, bob: Api, api_svc: CrmServices) -> dict[str, Any]:
    """store_a (alice) and store_b (bob) managers read and create orders of their store; phone is masked."""
    admin.define("entity", "sale", ORDER)
    admin.define("report", "by_stage", BY_STAGE)
    admin.publish("orders and a report")
    hq = admin.ok("POST", "/access/org-units", {"name": "hq"}, status=201)
    units = {
        name: admin.ok("POST", "/access/org-units", {"name": name, "parent_id": hq["id"]}, status=201)["id"]
        for name in ("store_a", "store_b")
    }
    admin.ok("POST", "/access/roles", {"name": "store_manager"}, status=201)
    rules = [{"entity": "sale", "operation": op, "scope": "org_unit"} for op in ("read", "create")]
    admin.ok("PUT", "/access/roles/store_manager/permissions", {"permissions": rules})
    admin.ok(
        "PUT",
        "/access/roles/store_manager/fields",
        {"fields": [{"entity": "sale", "field": "phone", "access": "masked"}]},
    )
    for name, unit in (("alice", "store_a"), ("bob", "store_b")):
        uid = user_id(api_svc, name)
        admin.ok("PUT", f"/access/users/{uid}/org-unit", {"unit_id": units[unit]})
        admin.ok("POST", f"/access/users/{uid}/roles", {"role": "store_manager"})
    for code, stage, amount in (("A1", "new", "10.50"), ("A2", "paid", "20.25"), ("A3", "paid", "1.00")):
        user.ok(
            "POST",
            "/records/sale",
            {"code": code, "stage": stage, "amount": amount, "day": "2026-11-03"},
            status=201,
        )
    bob.ok(
        "POST",
        "/records/sale",
        {"code": "B1", "stage": "paid", "amount": "100.00", "day": "2026-12-01"},
        status=201,
    )
    return units


def rows(api: Api, name: str = "by_stage", **kwargs: Any) -> list[tuple[Any, ...]]:
    result = api.ok("GET", f"/reports/{name}/run", **kwargs)
    keys = [c["key"] for c in result["columns"]]
    return [tuple(row[k] for k in keys) for row in result["rows"]]


def test_each_store_manager_sees_only_her_stores_rows(
    shops: dict[str, Any], admin: Api, user: Api, bob: Api
) -> None:
    assert rows(user) == [("new", 1, 10.5), ("paid", 2, 21.25)]
    assert rows(bob) == [("paid", 1, 100.0)]
    assert rows(admin) == [("new", 1, 10.5), ("paid", 3, 121.25)]


def test_results_carry_labels_in_the_viewers_language(shops: dict[str, Any], user: Api) -> None:
    result = user.ok("GET", "/reports/by_stage/run?lang=zh-CN")
    assert [c["label"] for c in result["columns"]] == ["阶段", "数量", "金额合计"]
    assert result["chart"] == {"type": "bar"}
    listed = user.ok("GET", "/reports?lang=zh-CN")["items"]
    assert listed == [{"name": "by_stage", "entity": "sale", "label": "各阶段销售额", "chart": "bar"}]


def test_masked_and_hidden_fields_are_refused_as_dimension_or_measure(
    shops: dict[str, Any], user: Api, admin: Api
) -> None:
    for query in (
        {"dimensions": ["phone"]},
        {"measures": [{"function": "count_distinct", "field": "phone"}]},
        {"filters": [{"field": "phone", "op": "eq", "value": "1"}]},
    ):
        refused = user.post("/reports/run", {"entity": "sale", "query": query})
        assert refused.status_code in (400, 403), query
        if refused.status_code == 403:
            assert "hidden or masked for you" in error_of(refused)["message"]
    # phone is not groupable at all; count_distinct is refused for her only
    measured = user.post(
        "/reports/run",
        {"entity": "sale", "query": {"measures": [{"function": "count_distinct", "field": "phone"}]}},
    )
    assert measured.status_code == 403
    assert (
        admin.post(
            "/reports/run",
            {"entity": "sale", "query": {"measures": [{"function": "count_distinct", "field": "phone"}]}},
        ).status_code
        == 200
    )


def test_unsaved_reports_and_bad_ones(shops: dict[str, Any], admin: Api) -> None:
    result = admin.ok(
        "POST",
        "/reports/run",
        {
            "entity": "sale",
            "query": {
                "dimensions": [{"field": "day", "bucket": "month"}],
                "measures": [{"function": "max", "field": "amount"}],
            },
        },
    )
    assert [(r["day__month"], r["max__amount"]) for r in result["rows"]] == [
        ("2026-11-01", 20.25),
        ("2026-12-01", 100.0),
    ]
    bad = admin.post("/reports/run", {"entity": "sale", "query": {"dimensions": ["code"], "limit": 0}})
    assert bad.status_code == 400
    assert paths_of(bad) == {"report.preview.query.dimensions[0]", "report.preview.query.limit"}
    assert admin.post("/reports/run", {"entity": "nope"}).status_code == 404
    assert admin.post("/reports/run", {"query": {}}).status_code == 400
    assert admin.get("/reports/nope/run").status_code == 404


def test_a_report_that_does_not_fit_its_entity_is_refused_at_publish(
    shops: dict[str, Any], admin: Api
) -> None:
    admin.define(
        "report",
        "broken",
        {"entity": "sale", "query": {"measures": [{"function": "sum", "field": "stage"}]}},
    )
    refused = admin.post("/meta/publish", {"comment": "broken report"})
    assert refused.status_code == 422
    assert "report.broken.query.measures[0]" in paths_of(refused)


def test_reports_for_roles_and_rollback(shops: dict[str, Any], admin: Api, user: Api) -> None:
    admin.define("report", "secret", {**BY_STAGE, "roles": ["finance"]})
    version = admin.publish("finance report")["number"]
    assert user.get("/reports/secret/run").status_code == 404
    assert [r["name"] for r in user.ok("GET", "/reports")["items"]] == ["by_stage"]
    assert admin.ok("GET", "/reports/secret/run")["rows"]
    admin.ok("POST", "/meta/rollback", {"version": version - 1, "comment": "undo"}, status=201)
    assert admin.get("/reports/secret").status_code == 404
    assert admin.ok("GET", "/reports/by_stage")["query"]["dimensions"] == ["stage"]


def test_csv_export_uses_labels_and_needs_the_export_permission(
    shops: dict[str, Any], admin: Api, user: Api
) -> None:
    assert user.get("/reports/by_stage/export").status_code == 403
    response = admin.get("/reports/by_stage/export")
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines == [["Stage", "Count", "Sum of Amount"], ["new", "1", "10.5"], ["paid", "3", "121.25"]]
