"""The studio's access, users and operations pages in chromium: grant a role store-scoped read on members with
the phone masked, create a user in a store, see the audit log filtered by a user, retry a failed delivery;
both widths, both languages, axe-core, no console errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.useradmin import UserAdmin
from crm_platform.auth.users import authenticate, create_user, user_id_of
from crm_platform.services import CrmServices
from metamodel.access.admin import AccessAdmin
from metamodel.records.hooks import Actor
from tests.platform.api.test_api_ops import failed_webhook
from tests.platform.pages.browsersupport import (
    Watch,
    module_app,
    sign_in,
    tour,
    watched_page,
)

pytestmark = pytest.mark.browser
PASSWORD = "studio-pass-123"
MEMBER = {
    "label": {"en": "Member", "zh-CN": "会员"},
    "title_field": "name",
    "fields": [
        {"name": "name", "type": "text", "required": True, "label": {"en": "Name", "zh-CN": "姓名"}},
        {"name": "phone", "type": "phone", "label": {"en": "Phone", "zh-CN": "手机号"}},
        {"name": "points", "type": "integer", "label": {"en": "Points", "zh-CN": "积分"}},
    ],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app: members published, HQ → East → Store 1, an administrator."""
    with module_app(tmp_path_factory.mktemp("access")) as app:
        svc: CrmServices = app.extensions["crm"]
        svc.metadata.put_document("entity", "member", MEMBER, "test")
        svc.metadata.publish("test", "members")
        admin = AccessAdmin(svc.engine)
        hq = admin.create_unit("hq", label={"en": "HQ", "zh-CN": "总部"})
        east = admin.create_unit("east", hq["id"], {"en": "East region", "zh-CN": "华东大区"})
        admin.create_unit("store_1", east["id"], {"en": "Store 1", "zh-CN": "一号店"})
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with watched_page(browser, base_url) as found:
        sign_in(found[0], "boss", PASSWORD)
        yield found


def test_grant_store_read_with_masked_phone_and_create_a_store_user(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    svc = site[1]
    page.goto("/studio/access?lang=en")
    page.fill("#role-name", "store_staff")
    page.fill("#role-label-en", "Store staff")
    page.fill("#role-label-zh", "门店员工")
    page.click("#new-role button[type=submit]")
    expect(page.locator(".crm-toasts")).to_contain_text("Role store_staff created")
    page.select_option("select[name='p.member.read']", "org_unit")
    page.select_option("select[name='p.member.create']", "all")
    page.click(".crm-save-matrix")
    expect(page.locator(".crm-toasts")).to_contain_text("Permissions of store_staff saved")
    expect(page.locator("select[name='p.member.read']")).to_have_value("org_unit")
    tour(page, "/studio/access?role=store_staff", "studio-access-matrix")
    page.goto("/studio/access/fields?role=store_staff&entity=member&lang=zh-CN")
    page.select_option("select[name='f.phone']", "masked")
    expect(page.locator("select[name='m.phone']")).to_have_value("phone")
    page.click(".crm-save-fields")
    expect(page.locator(".crm-toasts")).to_contain_text("已保存")
    tour(page, "/studio/access/fields?role=store_staff&entity=member", "studio-access-fields")
    access = AccessAdmin(svc.engine)
    assert access.field_rules("store_staff") == [
        {"entity": "member", "field": "phone", "access": "masked", "mask": "phone", "reveal": False}
    ]
    # A user in Store 1 with the new role, through the users page.
    page.goto("/studio/access/users?lang=zh-CN")
    page.fill("#u-username", "mei.lin")
    page.fill("#u-display", "林梅")
    page.fill("#u-password", "password123")
    page.select_option("#u-unit", label="总部 / 华东大区 / 一号店")
    page.check("input[name=role][value=store_staff]")
    _.allow(422, "/studio/access/users")
    page.click(".crm-create-user")
    expect(page.locator(".crm-error")).to_contain_text("最常用的密码")
    page.fill("#u-password", "ann-amber-kettle-42")
    page.click(".crm-create-user")
    expect(page.locator(".crm-toasts")).to_contain_text("已创建用户 mei.lin")
    uid = user_id_of(svc.engine, "mei.lin")
    held = access.user_access(uid)
    assert held["roles"] == [{"role": "store_staff", "expires_at": None}]
    assert authenticate(svc.engine, "mei.lin", "ann-amber-kettle-42") is not None
    tour(page, f"/studio/access/users/{uid}", "studio-user")
    tour(page, "/studio/access/users", "studio-users")


def test_audit_log_filtered_by_a_user_and_retry_a_failed_delivery(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    svc = site[1]
    access = AccessAdmin(svc.engine)
    access.create_role("front_desk")
    access.set_permissions("front_desk", [{"entity": "member", "operation": "create", "scope": "all"}])
    store = next(u for u in access.units() if u["name"] == "store_1")
    made = UserAdmin(svc.engine, access).create(
        {
            "username": "li.na",
            "password": "tea-lantern-violet-88",
            "unit_id": store["id"],
            "roles": ["front_desk"],
        }
    )
    svc.runtime().create(
        "member", {"name": "冯超", "phone": "13812341234"}, Actor(made["id"], "li.na", False)
    )
    svc.runtime().create("member", {"name": "Someone else"})
    page.goto("/studio/ops/audit?lang=en")
    page.fill("#f-actor", "li.na")
    page.select_option("#f-entity", "member")
    page.click(".crm-filter")
    page.wait_for_url("**actor=li.na**")
    rows = page.locator(".crm-audit tbody tr[data-entry]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("li.na")
    assert "actor=li.na" in (page.get_attribute(".crm-export", "href") or "")
    tour(page, "/studio/ops/audit?actor=li.na", "studio-ops-audit")
    message_id = failed_webhook(svc.engine, "https://erp.example.com/hooks/<members>")
    page.goto("/studio/ops/deliveries?lang=zh-CN")
    row = page.locator(f"tr[data-delivery='{message_id}']")
    expect(row).to_contain_text("失败")
    expect(row).to_contain_text("HTTP 503")
    row.locator(".crm-retry").click()
    expect(page.locator(".crm-toasts")).to_contain_text(f"投递 #{message_id} 将在定时任务下次运行时发送")
    expect(page.locator(f"tr[data-delivery='{message_id}']")).to_contain_text("待发送")
    expect(page.locator(".crm-delivery")).to_contain_text("失败，将重试")
    tour(page, f"/studio/ops/deliveries?id={message_id}", "studio-ops-deliveries")
    tour(page, "/studio/ops/scheduler", "studio-ops-scheduler")
