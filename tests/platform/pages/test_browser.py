"""The generated pages in a real browser (Debian chromium driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import serving, signed_in_page
from tests.platform.pages.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(site_app: Flask) -> Iterator[str]:
    """Serve the app on a free local port for the test's duration."""
    with serving(site_app) as url:
        yield url


@pytest.fixture
def page(chromium_path: str, live_url: str) -> Iterator[Page]:
    """A signed-in browser page."""
    with signed_in_page(chromium_path, live_url, "clerk", PASSWORD) as tab:
        yield tab


def test_create_with_picker_and_child_rows(
    page: Page, live_url: str, svc: CrmServices, tmp_path: Path
) -> None:
    svc.runtime().create("company", {"name": "Alpha Trading"})
    svc.runtime().create("company", {"name": "Beta Works"})
    page.goto(f"{live_url}/e/customer/new")
    page.fill("#f-name", "Browser Customer")
    page.select_option("#f-tier", "gold")
    page.fill("#f-credit", "99.90")
    page.click('[data-field="company"] .ts-control')  # Tom Select's search box over the link's select
    page.keyboard.type("bet")
    expect(page.locator("#f-company-ts-dropdown .option")).to_have_text(["Beta Works"])
    page.keyboard.press("Enter")
    assert page.input_value("select[name=company]") != ""
    page.click(".add-line")
    page.click(".add-line")
    page.fill("input[name=lines-0-item]", "first")
    page.fill("input[name=lines-0-qty]", "2")
    page.fill("input[name=lines-1-item]", "second")
    page.locator(".child-table tr.line").nth(0).locator(".remove-line").click()
    page.screenshot(path=str(tmp_path / "form-desktop.png"), full_page=True)
    page.click("button.primary[type=submit]")
    page.wait_for_url("**/e/customer/*")
    body = page.inner_text("main")
    assert "Browser Customer" in body and "Beta Works" in body and "second" in body and "first" not in body
    stored = (
        svc.runtime()
        .list("customer", __import__("metamodel.records.query", fromlist=["ListQuery"]).ListQuery())
        .items
    )
    assert [r["name"] for r in stored] == ["Browser Customer"]


def test_invalid_input_shows_inline_errors(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/e/customer/new")
    page.fill("#f-credit", "1.999")
    page.click("button.primary[type=submit]")
    page.wait_for_selector(".field-error")
    assert page.inner_text('[data-field="name"] .field-error') == "is required"
    assert "decimal places" in page.inner_text('[data-field="credit"] .field-error')
    assert page.input_value("#f-credit") == "1.999"


def test_phone_sized_screen(page: Page, live_url: str, svc: CrmServices, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_url}/e/customer/new")
    page.click(".add-line")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=str(tmp_path / "form-phone.png"), full_page=True)
    svc.runtime().create("customer", {"name": "Phone Row", "tier": "gold", "credit": "5"})
    page.goto(f"{live_url}/e/customer")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert "Phone Row" in page.inner_text("main")
