"""The app shell and every page in chromium: both widths, both languages, axe-core, no stray errors.

One served app for the module: the retail pack with its sample data (a pack group in the sidebar, store
roles, workflows), a lead entity with a pool and an entity without records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.passwords import hash_password
from crm_platform.auth.twofactor import begin_enrolment, confirm_enrolment
from crm_platform.auth.users import create_user, set_password, user_id_of
from crm_platform.services import CrmServices
from industry_templates.installer import install_pack
from metamodel.records.query import ListQuery
from tests.platform.pages.browsersupport import (
    Watch,
    audit,
    module_app,
    sign_in,
    tour,
    watched_page,
)

pytestmark = pytest.mark.browser
PASSWORD = "shell-pass-123"
LEAD = {
    "label": {"en": "Lead", "zh-CN": "线索"},
    "icon": "user-plus",
    "title_field": "company",
    "list_fields": ["company", "phone", "stage"],
    "pool": {"contact_fields": ["phone"], "claim_limit": 5},
    "fields": [
        {"name": "company", "type": "text", "required": True, "label": {"en": "Company", "zh-CN": "公司"}},
        {"name": "phone", "type": "phone", "label": {"en": "Phone", "zh-CN": "电话"}},
        {
            "name": "stage",
            "type": "select",
            "label": {"en": "Stage", "zh-CN": "阶段"},
            "options": [
                {"value": "new", "label": {"en": "New", "zh-CN": "新线索"}, "color": "blue"},
                {"value": "hot", "label": {"en": "Hot", "zh-CN": "高意向"}, "color": "red"},
            ],
        },
    ],
}
VISIT = {
    "label": {"en": "Store visit", "zh-CN": "到店记录"},
    "icon": "calendar",
    "title_field": "subject",
    "fields": [{"name": "subject", "type": "text", "label": {"en": "Subject", "zh-CN": "主题"}}],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app and services, with the retail pack, leads, and users of every sign-in path."""
    with module_app(tmp_path_factory.mktemp("shell")) as app:
        svc: CrmServices = app.extensions["crm"]
        install_pack(svc, "retail", with_sample_data=True, password_hash=hash_password(PASSWORD))
        svc.metadata.put_document("entity", "lead", LEAD, "test")
        svc.metadata.put_document("entity", "visit", VISIT, "test")
        svc.metadata.publish("test", "leads and visits")
        svc.runtime().create("lead", {"company": "Acme Trading", "phone": "13812345678", "stage": "hot"})
        svc.runtime().create("lead", {"company": "Blue Sky Foods", "phone": "13900001111", "stage": "new"})
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        create_user(svc.engine, "two", PASSWORD)
        secret = begin_enrolment(svc.engine, user_id_of(svc.engine, "two"))
        assert secret and confirm_enrolment(
            svc.engine, user_id_of(svc.engine, "two"), pyotp.TOTP(secret).now(), dt.datetime.now(dt.UTC)
        )
        app.config["SHELL_TOTP"] = secret
        create_user(svc.engine, "fresh", PASSWORD)
        set_password(svc.engine, "fresh", PASSWORD, must_change=True)

        def boom() -> str:
            raise RuntimeError("a deliberate failure for the 500 page")

        app.add_url_rule("/_test/boom", "test_boom", boom)
        yield app, svc


@pytest.fixture
def anonymous(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page with no session; the test fails on console errors and unexpected 4xx/5xx."""
    with watched_page(browser, base_url) as found:
        yield found


@pytest.fixture
def admin(anonymous: tuple[Page, Watch]) -> tuple[Page, Watch]:
    """A page signed in as the administrator 'boss'."""
    sign_in(anonymous[0], "boss", PASSWORD)
    return anonymous


def test_sign_in_pages(anonymous: tuple[Page, Watch], site: tuple[Flask, CrmServices]) -> None:
    page, watch = anonymous
    tour(page, "/login", "sign-in")
    watch.allow(401, "/login")
    page.goto("/login?lang=en")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "wrong password")
    page.click("#login-form button[type=submit]")
    expect(page.locator(".alert-danger")).to_contain_text("Wrong user name or password")
    audit(page, "sign-in-error-en-1366")
    page.fill("input[name=username]", "two")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/login/code")
    tour(page, "/login/code", "two-factor-code")
    # The enrolment used this step's code, and a code works once: the next step's is within the drift.
    totp = pyotp.TOTP(site[0].config["SHELL_TOTP"])
    page.fill("input[name=code]", totp.at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)))
    page.click("#code-form button[type=submit]")
    page.wait_for_url("**/")
    expect(page.locator(".crm-sidebar")).to_be_attached()


def test_new_password_page(anonymous: tuple[Page, Watch]) -> None:
    page, _ = anonymous
    sign_in(page, "fresh", PASSWORD, lands_on="/login/new-password")
    tour(page, "/login/new-password", "new-password")


def test_home_shows_modules_with_counts(admin: tuple[Page, Watch]) -> None:
    page, _ = admin
    tour(page, "/", "home")
    page.goto("/?lang=en")
    retail = page.locator("section", has=page.locator("h2", has_text="Retail"))
    expect(retail.locator(".crm-tile", has_text="Member")).to_contain_text("records")
    expect(page.locator(".crm-tile", has_text="Store visit")).to_contain_text("0 records")
    expect(page.locator(".crm-sidebar .crm-nav-heading")).to_contain_text(
        ["My CRM", "Retail", "Administration"]
    )


def test_list_pages(admin: tuple[Page, Watch]) -> None:
    page, _ = admin
    tour(page, "/e/lead", "list")
    page.goto("/e/lead?lang=en")
    header = page.locator(".crm-table thead th").first
    assert header.evaluate("th => getComputedStyle(th).position") == "sticky"
    acme = page.locator("tbody tr", has_text="Acme Trading")
    expect(acme.locator("a.crm-title-link")).to_have_attribute("href", "/e/lead/1")
    expect(acme.locator(".crm-badge")).to_have_text("Hot")
    tour(page, "/e/visit", "list-empty")
    expect(page.locator(".crm-empty .empty-title")).to_have_text("还没有到店记录")
    page.goto("/e/lead?lang=en&q=nothing-matches-this")
    expect(page.locator(".crm-empty")).to_contain_text("Clear filters")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/e/member?lang=zh-CN")
    row = page.locator("table.records tbody tr").first
    assert row.evaluate("tr => getComputedStyle(tr).display") == "block"  # a card on a phone
    audit(page, "list-member-zh-CN-390")


def test_record_detail_and_form_pages(admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]) -> None:
    page, _ = admin
    svc = site[1]
    order = svc.runtime().list("retail_order", ListQuery())
    order_id = order.items[0]["id"]
    tour(page, f"/e/retail_order/{order_id}", "detail")
    page.goto(f"/e/retail_order/{order_id}?lang=en")
    expect(page.locator(".crm-state-badge")).to_be_visible()
    expect(page.locator(".crm-crumbs")).to_contain_text("Retail")
    tour(page, "/e/member/new", "form-new")
    member = svc.runtime().list("member", ListQuery())
    tour(page, f"/e/member/{member.items[0]['id']}/edit", "form-edit")


def test_packs_and_security_pages(admin: tuple[Page, Watch]) -> None:
    page, _ = admin
    tour(page, "/studio/packs", "packs")
    tour(page, "/account/security", "security")


def test_lead_pool_claim_and_toasts(admin: tuple[Page, Watch]) -> None:
    page, _ = admin
    page.goto("/e/lead?lang=en")
    page.locator("tbody tr", has_text="Blue Sky Foods").get_by_role("button", name="Claim").click()
    toast = page.locator(".crm-toast")
    expect(toast).to_contain_text("Claimed: the record is yours now.")
    audit(page, "pool-claimed-en-1366")
    expect(toast).to_have_count(0, timeout=8000)  # success hides itself
    page.goto("/e/lead/2?lang=zh-CN")
    tour(page, "/e/lead/2", "pool-detail")
    page.goto("/e/lead/2?lang=en")
    page.get_by_role("button", name="Release to pool").click()
    expect(page.locator(".crm-toast")).to_contain_text("Released")


def test_error_pages(admin: tuple[Page, Watch]) -> None:
    page, watch = admin
    tour(page, "/e/no_such_entity", "error-404", status=404, watch=watch)
    expect(page.locator("h1")).to_have_text("页面不存在")  # the tour ends in Chinese
    tour(page, "/_test/boom", "error-500", status=500, watch=watch)
    expect(page.locator(".crm-error")).not_to_contain_text("Traceback")


def test_sidebar_shows_only_what_a_clerk_may_read(anonymous: tuple[Page, Watch]) -> None:
    page, watch = anonymous
    sign_in(page, "sh01_clerk", PASSWORD)
    page.goto("/?lang=en")
    links = page.locator(".crm-sidebar .nav-link[href^='/e/']")
    names = {href.split("/")[2] for href in links.evaluate_all("els => els.map(e => e.getAttribute('href'))")}
    assert "member" in names and "store" in names
    assert not names & {"lead", "visit"}, names  # no role of hers opens them
    expect(page.locator(".crm-sidebar")).not_to_contain_text("Industry packs")
    tour(page, "/e/lead", "error-403", status=403, watch=watch)
    expect(page.locator(".crm-error")).to_contain_text("您没有访问此页面的权限")


def test_shell_language_menu_drawer_and_keyboard(admin: tuple[Page, Watch], tmp_path: Path) -> None:
    page, _ = admin
    page.goto("/e/member?lang=en")
    page.locator(".crm-topbar .crm-lang .nav-link").click()
    page.locator(".crm-topbar .crm-lang .dropdown-item", has_text="中文").click()
    page.wait_for_url("**/e/member?lang=zh-CN")
    assert page.get_attribute("html", "lang") == "zh-CN"
    expect(page.locator(".crm-crumbs")).to_contain_text("首页")
    page.goto("/e/member")  # the choice is remembered
    assert page.get_attribute("html", "lang") == "zh-CN"
    # The sidebar collapses to icons and stays so on the next page.
    page.click("[data-crm-collapse]")
    width = page.locator(".crm-sidebar").evaluate("el => el.getBoundingClientRect().width")
    assert width < 100
    page.goto("/?lang=en")
    assert page.evaluate("document.body.classList.contains('sidebar-collapsed')")
    page.click("[data-crm-collapse]")
    # Keyboard: the first Tab reaches the skip link, which jumps to the content.
    page.goto("/?lang=en")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # On a phone the sidebar is a drawer behind the menu button.
    page.set_viewport_size({"width": 390, "height": 844})
    menu = page.locator("#sidebar-menu")
    expect(menu).to_be_hidden()
    page.click(".crm-sidebar .navbar-toggler")
    expect(menu).to_be_visible()
    expect(menu.locator(".nav-link", has_text="Member")).to_be_visible()
    audit(page, "drawer-open-en-390")
    page.locator(".crm-mobile-tools .crm-user .nav-link").click()
    expect(page.locator(".crm-mobile-tools .crm-sign-out")).to_be_visible()


def test_studio_pages(admin: tuple[Page, Watch]) -> None:
    page, _ = admin
    tour(page, "/studio", "studio-home")
    page.goto("/studio?lang=en")
    page.fill("#e-label-en", "Service ticket")
    expect(page.locator("#e-name")).to_have_value("service_ticket")  # suggested from the label
    page.fill("#e-label-zh", "服务工单")
    page.fill("#e-title-en", "Subject")
    page.click("#new-entity button[type=submit]")
    page.wait_for_url("**/studio/entities/service_ticket")
    expect(page.locator(".crm-toast")).to_contain_text("Entity service_ticket added to the draft.")
    expect(page.locator(".crm-pending-count")).to_have_text("1 unpublished change(s)")
    # Only the chosen type's settings are shown.
    page.select_option("#f-type", "select")
    expect(page.locator("#f-options")).to_be_visible()
    expect(page.locator("#f-target")).to_be_hidden()
    page.select_option("#f-type", "link")
    expect(page.locator("#f-target")).to_be_visible()
    expect(page.locator("#f-options")).to_be_hidden()
    tour(page, "/studio/entities/service_ticket", "studio-entity")
    tour(page, "/studio/review", "studio-review")
    expect(page.locator(".crm-changes")).to_contain_text("服务工单")
