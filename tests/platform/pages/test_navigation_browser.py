"""Navigation in chromium, as a store clerk and her manager: the sidebar of her role, global search within
her store, the inbox with its bell, and an approval decided from /approvals; both widths and languages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.passwords import hash_password
from crm_platform.auth.users import create_user, user_id_of
from crm_platform.services import CrmServices
from industry_templates.installer import install_pack
from industry_templates.siteaccess import write_role
from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery
from metamodel.systables import role_permissions, user_roles
from rule_engine.tables import inbox
from tests.platform.pages.browsersupport import (
    Watch,
    launched_browser,
    module_app,
    serving,
    sign_in,
    tour,
    watched_page,
)
from tests.platform.pages.test_navigation_pages import CLAIM, CLAIM_FLOW, CLAIMANT

pytestmark = pytest.mark.browser
PASSWORD = "ann-amber-kettle-42"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """Retail with two stores' members, messages for the Shanghai clerk and a claim awaiting approval."""
    with module_app(tmp_path_factory.mktemp("navigation")) as app:
        svc: CrmServices = app.extensions["crm"]
        install_pack(svc, "retail", with_sample_data=True, password_hash=hash_password(PASSWORD))
        svc.metadata.put_document("entity", "claim", CLAIM, "test")
        svc.metadata.put_document("workflow", "claim_flow", CLAIM_FLOW, "test")
        svc.metadata.publish("test", "claims")
        runtime = svc.runtime()
        store = runtime.list("store", ListQuery(limit=1)).items[0]["id"]
        people = {}
        for name, phone, clerk in (
            ("Quartzfield Lin", "+8613912340001", "sh01_clerk"),
            ("Quartzfield Wu", "+8613912340002", "bj01_clerk"),
        ):
            clerk_actor = Actor(user_id_of(svc.engine, clerk), clerk, False)
            values = {"name": name, "phone": phone, "home_store": store}
            people[name] = runtime.create("member", values, clerk_actor)["id"]
        requester = create_user(svc.engine, "requester", PASSWORD, display_name="胡会计").id
        with svc.engine.begin() as conn:
            conn.execute(
                role_permissions.insert(),
                [
                    {"role": "store_manager", "entity": "claim", "operation": op, "scope": "all"}
                    for op in ("read", "create", "transition")
                ],
            )
            write_role(conn, {"name": "claimant", "label": {"en": "Claimant"}, "permissions": CLAIMANT})
            conn.execute(user_roles.insert().values(user_id=requester, role="claimant"))
            clerk_id = user_id_of(svc.engine, "sh01_clerk")
            now = dt.datetime.now(dt.UTC)
            conn.execute(
                inbox.insert(),
                [
                    {
                        "user_id": clerk_id,
                        "subject": "请回访会员 Quartzfield Lin",
                        "body": "会员已30天未到店。",
                        "entity": "member",
                        "record_id": people["Quartzfield Lin"],
                        "rule": "repurchase_reminder",
                        "created_at": now,
                    },
                    {
                        "user_id": clerk_id,
                        "subject": "Birthday coupons issued",
                        "body": "3 coupons were issued today.",
                        "entity": None,
                        "record_id": None,
                        "rule": "birthday_coupon",
                        "created_at": now,
                    },
                ],
            )
        claim = runtime.create("claim", {"title": "出租车费 Taxi to supplier"})
        workflow = svc.rules.component("workflow").service  # type: ignore[attr-defined]
        workflow.transition(
            runtime, "claim", int(claim["id"]), "pay", actor=Actor(requester, "requester", False)
        )
        yield app, svc


@pytest.fixture(scope="module")
def base_url(site: tuple[Flask, CrmServices]) -> Iterator[str]:
    with serving(site[0]) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with launched_browser(chromium_path) as launched:
        yield launched


@pytest.fixture
def anonymous(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    with watched_page(browser, base_url) as found:
        yield found


def test_clerk_sidebar_search_and_inbox(anonymous: tuple[Page, Watch]) -> None:
    page, _ = anonymous
    sign_in(page, "sh01_clerk", PASSWORD)
    tour(page, "/?apps=1", "nav-home-clerk")
    page.goto("/?apps=1&lang=en")
    sidebar = page.locator(".crm-sidebar")
    expect(sidebar.locator(".crm-nav-heading").first).to_have_text("Retail")
    expect(sidebar).to_contain_text("Member")
    expect(sidebar).not_to_contain_text("Expense claim")
    expect(page.locator(".crm-topbar [data-crm-unread]")).to_have_text("2")
    # global search from the top bar: her store's member, not Beijing's
    page.fill(".crm-topbar input[name=q]", "quartzfield")
    page.press(".crm-topbar input[name=q]", "Enter")
    page.wait_for_url("**/search?q=quartzfield")
    expect(page.locator(".crm-hit")).to_have_count(1)
    expect(page.locator(".crm-hit")).to_contain_text("Quartzfield Lin")
    expect(page.locator("main")).not_to_contain_text("Quartzfield Wu")
    tour(page, "/search?q=quartzfield", "nav-search")
    tour(page, "/search?q=nothing-matches-this", "nav-search-empty")
    # the inbox: mark one read, open the other's record
    tour(page, "/inbox", "nav-inbox")
    page.goto("/inbox?lang=en")
    page.locator(".crm-message", has_text="Birthday coupons").locator(".crm-mark-read").click()
    expect(page.locator(".crm-topbar [data-crm-unread]")).to_have_text("1")
    page.locator(".crm-message-subject", has_text="Quartzfield Lin").click()
    page.wait_for_url("**/e/member/*")
    expect(page.locator(".crm-topbar [data-crm-unread]")).to_have_count(0)
    tour(page, "/search", "nav-recent")
    expect(page.locator(".crm-recent")).to_contain_text("Quartzfield Lin")


def test_manager_approves_from_approvals(anonymous: tuple[Page, Watch]) -> None:
    page, _ = anonymous
    sign_in(page, "sh01_manager", PASSWORD)
    tour(page, "/approvals", "nav-approvals")
    page.goto("/approvals?lang=zh-CN")
    card = page.locator(".crm-approval", has_text="Taxi to supplier")
    expect(card).to_contain_text("胡会计 申请“付款”（变为已付款）。")
    card.locator("input[name=comment]").fill("同意报销")
    card.locator(".crm-approve").click()
    expect(page.locator(".crm-toast")).to_contain_text("已同意")
    expect(page.locator(".crm-approval")).to_have_count(0)
    tour(page, "/approvals", "nav-approvals-empty")
