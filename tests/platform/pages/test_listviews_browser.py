"""The workspace list view in chromium at 1366 and 390 px: filter and save a view, sort, choose columns,
export; every view checked by axe-core and screenshotted."""

from __future__ import annotations

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
    watched_page,
)
from tests.platform.pages.conftest import ENTITIES

pytestmark = pytest.mark.browser
PASSWORD = "ann-amber-kettle-42"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app: customers of two tiers and an administrator."""
    with module_app(tmp_path_factory.mktemp("listviews")) as app:
        svc: CrmServices = app.extensions["crm"]
        for name, doc in ENTITIES.items():
            if name == "customer":  # credit may not go below zero: an error to show in a cell
                fields = [dict(f, min=0) if f["name"] == "credit" else f for f in doc["fields"]]
                doc = {**doc, "fields": fields}
            svc.metadata.put_document("entity", name, doc, "test")
        svc.metadata.publish("test", "list view tests")
        acme = svc.runtime().create("company", {"name": "ACME Trading"})
        for i in range(12):
            values = {"name": f"Customer {i:02d}", "tier": "gold" if i % 3 == 0 else "silver"}
            svc.runtime().create("customer", {**values, "credit": str(100 * i), "company": acme["id"]})
        create_user(svc.engine, "boss", PASSWORD, is_admin=True)
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with watched_page(browser, base_url) as (page, watch):
        sign_in(page, "boss", PASSWORD)
        yield page, watch


def test_filter_save_sort_columns_and_export(admin: tuple[Page, Watch]) -> None:
    page, _watch = admin
    page.goto("/e/customer?lang=en")
    page.select_option("#filter-field", "tier")
    page.select_option("#filter-op", "in")
    page.select_option("#filter-value", ["gold"])
    page.click("form.filters button[type=submit]")
    expect(page.locator(".crm-filter-chip")).to_contain_text(["Tier is any of Gold"])
    expect(page.locator("table.records tbody tr")).to_have_count(4)
    page.click("thead a:has-text('Credit')")  # sort by a header
    page.click("thead a:has-text('Credit')")
    expect(page.locator("table.records tbody tr").first).to_contain_text("Customer 09")
    page.click("#columns-menu")
    page.uncheck(".column-chooser input[value=company]")
    page.check(".column-chooser input[value=born]")
    page.click(".column-chooser button[type=submit]")
    expect(page.locator("thead th")).to_contain_text(["#", "Name", "Tier", "Credit", "Born"])
    page.click("#views-menu")
    page.fill("#view-name", "Gold by credit")
    audit(page, "listviews-views-menu-en-1366")
    page.click(".save-view button[type=submit]")
    expect(page.locator("#views-menu")).to_contain_text("Gold by credit")
    page.goto("/e/customer?lang=en")
    page.click("#views-menu")
    page.click("a.saved-view:has-text('Gold by credit')")
    expect(page.locator("table.records tbody tr")).to_have_count(4)
    expect(page.locator("thead th")).to_contain_text(["#", "Name", "Tier", "Credit", "Born"])
    audit(page, "listviews-saved-en-1366")
    page.click("#export-menu")
    with page.expect_download() as download:
        page.click("a.export-xlsx")
    assert download.value.suggested_filename == "customer.xlsx"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/e/customer?lang=zh-CN")
    audit(page, "listviews-list-zh-CN-390")
    page.click("#columns-menu")
    audit(page, "listviews-columns-zh-CN-390")


def test_bulk_set_and_inline_edit_with_a_validation_error(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, watch = admin
    page.goto("/e/customer?lang=en&sort=name&limit=5")
    expect(page.locator("#bulk-form")).to_be_hidden()
    page.locator(".row-select").nth(0).check()
    page.locator(".row-select").nth(1).check()
    expect(page.locator(".bulk-count")).to_have_text("2 selected")
    page.select_option(".bulk-action", "set")
    page.select_option(".bulk-field", "tier")
    page.select_option(".bulk-value-box select", "gold")
    audit(page, "listviews-bulk-en-1366")
    page.click(".bulk-apply")
    expect(page.locator(".alert, .toast").first).to_contain_text("2 record(s) done.")
    expect(page.locator("table.records tbody tr").nth(1)).to_contain_text("Gold")
    watch.allow(422, f"/e/customer/{_id_of(page, 0)}/cell")
    credit = page.locator("table.records tbody tr").nth(0).locator("td[data-field=credit]")
    credit.dblclick()
    credit.locator("input").fill("-5")
    credit.locator("input").press("Enter")
    expect(credit.locator(".cell-error")).not_to_be_empty()
    audit(page, "listviews-cell-error-en-1366")
    credit.locator("input").fill("321")
    credit.locator("input").press("Enter")
    expect(credit).to_contain_text("321.00")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/e/customer?lang=zh-CN&limit=5")
    page.locator(".row-select").nth(0).check()
    audit(page, "listviews-bulk-zh-CN-390")


def _id_of(page: Page, index: int) -> str:
    return str(page.locator("table.records tbody tr").nth(index).get_attribute("data-id"))
