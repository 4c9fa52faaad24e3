"""The studio's draft, publish and history pages in chromium: review in plain words, validate, publish with
a comment, compare versions, roll back after the preview; both widths, both languages, axe-core."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import (
    Watch,
    audit,
    module_app,
    sign_in,
    tour,
    watched_page,
)
from tests.platform.pages.conftest import ENTITIES

pytestmark = pytest.mark.browser
PASSWORD = "studio-pass-123"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app: the page-test entities published once, an administrator."""
    with module_app(tmp_path_factory.mktemp("studio")) as app:
        svc: CrmServices = app.extensions["crm"]
        for name, doc in ENTITIES.items():
            svc.metadata.put_document("entity", name, doc, "test")
        svc.metadata.publish("test", "First customers")
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with watched_page(browser, base_url) as found:
        sign_in(found[0], "boss", PASSWORD)
        yield found


def test_review_validate_publish_compare_and_roll_back(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    svc = site[1]
    doc = copy.deepcopy(svc.metadata.draft().documents["entity"]["customer"])
    doc["label"] = {"en": "Client", "zh-CN": "顾客"}
    doc["fields"][0]["help"] = {"en": "As on the business licence"}
    doc["fields"].append({"name": "owner", "type": "link", "target": "nobody", "label": {"en": "Owner"}})
    svc.metadata.put_document("entity", "customer", doc, "test")
    page.goto("/studio/review?lang=en")
    expect(page.locator(".crm-changes")).to_contain_text("Field Owner added to Client")
    expect(page.locator(".crm-changes")).to_contain_text("Label: “Customer” → “Client”")
    page.click(".crm-validate")
    expect(page.locator(".crm-problems")).to_contain_text("Field Owner of Client")
    tour(page, "/studio/review", "studio-review-pending")
    page.goto("/studio/review?lang=en")
    page.click(".crm-validate")
    audit(page, "studio-validate-en-1366")
    page.click(".crm-problems .crm-fix")
    page.wait_for_url("**/studio/entities/customer#field-owner")
    doc["fields"].pop()
    svc.metadata.put_document("entity", "customer", doc, "test")
    page.goto("/studio/review?lang=zh-CN")
    page.fill("#publish-comment", "客户改名为顾客")
    page.click(".crm-publish-now")
    page.wait_for_url("**/studio/history")
    expect(page.locator(".crm-toast")).to_contain_text("已发布为第 2 版")
    expect(page.locator(".crm-versions")).to_contain_text("客户改名为顾客")
    expect(page.locator(".crm-diff")).to_contain_text("名称：“客户” → “顾客”")
    tour(page, "/studio/history", "studio-history")
    page.goto("/studio/history?lang=en")
    page.click("tr[data-version='1'] .crm-rollback")
    page.wait_for_url("**/studio/history/1/rollback")
    expect(page.locator(".crm-diff")).to_contain_text("Label: “Client” → “Customer”")
    tour(page, "/studio/history/1/rollback", "studio-rollback")
    page.goto("/studio/history/1/rollback?lang=en")
    page.click(".crm-rollback-confirm")
    page.wait_for_url("**/studio/history")
    expect(page.locator(".crm-toast")).to_contain_text("Rolled back to version 1")
    expect(page.locator("tr[data-version='3']")).to_contain_text("rollback to 1")
    assert svc.metadata.model().bundle.entity("customer").doc["label"]["en"] == "Customer"
