"""Shared fixtures of the report and dashboard API tests: two stores' managers and their sales."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.systables import users
from tests.platform.api.apisupport import Api, options

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

# Repairs: the time from reported to fixed is the mean time to repair; billed_at is a third date.
REPAIR = {
    "label": {"en": "Repair", "zh-CN": "维修"},
    "fields": [
        {"name": "reported_at", "type": "datetime", "label": {"en": "Reported at", "zh-CN": "报修时间"}},
        {"name": "fixed_at", "type": "datetime", "label": {"en": "Fixed at", "zh-CN": "修复时间"}},
        {"name": "billed_at", "type": "datetime", "label": {"en": "Billed at", "zh-CN": "开票时间"}},
    ],
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
