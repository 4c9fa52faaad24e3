"""The studio's "Rule errors" page in chromium: failures listed, the switched-off rule switched back on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from rule_engine.tables import rule_health
from tests.platform.pages.browsersupport import Watch, module_app, sign_in, tour, watched_page

pytestmark = pytest.mark.browser
PASSWORD = "ann-amber-kettle-42"
MEMBER = {
    "label": {"en": "Member", "zh-CN": "会员"},
    "title_field": "name",
    "fields": [
        {"name": "name", "type": "text", "required": True, "label": {"en": "Name", "zh-CN": "姓名"}},
        {"name": "points", "type": "integer", "label": {"en": "Points", "zh-CN": "积分"}},
        {"name": "note", "type": "text", "label": {"en": "Note", "zh-CN": "备注"}},
    ],
}
# Divides by zero for members with 10 points: a runtime error no publish-time check can see.
SHAKY = {
    "name": "points_check",
    "entity": "member",
    "event": "create",
    "condition": "1 / (points - 10) > 0",
    "actions": [{"type": "set_fields", "values": {"note": "checked"}}],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """Members with a shaky rule that failed five times (so it is switched off), and an administrator."""
    with module_app(tmp_path_factory.mktemp("ruleerrors")) as app:
        svc: CrmServices = app.extensions["crm"]
        svc.metadata.put_document("entity", "member", MEMBER, "test")
        svc.metadata.put_document("trigger", "points_check", SHAKY, "test")
        svc.metadata.publish("test", "members")
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        for i in range(5):
            svc.runtime().create("member", {"name": f"会员 {i}", "points": 10})
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with watched_page(browser, base_url) as found:
        sign_in(found[0], "boss", PASSWORD)
        yield found


def test_rule_errors_listed_and_the_rule_switched_back_on(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    svc = site[1]
    page.goto("/studio/ops/rule-errors?lang=en")
    expect(page.locator(".crm-rule-errors tbody tr[data-rule-error]")).to_have_count(5)
    expect(page.locator("tr[data-off='points_check']")).to_contain_text("after 5 failures in a row")
    expect(page.locator(".crm-rule-errors")).to_contain_text("division by zero")
    tour(page, "/studio/ops/rule-errors", "studio-ops-rule-errors")
    page.goto("/studio/ops/rule-errors?lang=zh-CN")
    page.locator("tr[data-off='points_check'] .crm-switch-on").click()
    expect(page.locator(".crm-toasts")).to_contain_text("规则 points_check 已重新启用。")
    expect(page.locator(".crm-switched-off")).to_have_count(0)
    with svc.engine.connect() as conn:
        assert conn.execute(rule_health.select()).first().disabled_at is None
    page.locator(".crm-rule-errors tbody tr a", has_text="points_check").first.click()
    page.wait_for_url("**rule=points_check**")
    expect(page.locator(".card-actions")).to_contain_text("仅 points_check")
