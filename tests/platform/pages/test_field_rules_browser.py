"""Field rules mirrored live in the generated form, in a real browser; the server's errors shown inline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import serving, signed_in_page
from tests.platform.pages.conftest import PASSWORD
from tests.rule_engine.fieldrules.fieldrule_tickets import tickets

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(app: Flask, svc: CrmServices) -> Iterator[str]:
    """Serve the app with the tickets entity published, on a free local port."""
    for name, doc in tickets()["entity"].items():
        svc.metadata.put_document("entity", name, doc, "test")
    svc.metadata.publish("test", "field rules")
    create_user(svc.engine, "clerk", PASSWORD)
    with serving(app) as url:
        yield url


@pytest.fixture
def page(chromium_path: str, live_url: str) -> Iterator[Page]:
    """A signed-in browser page."""
    with signed_in_page(chromium_path, live_url, "clerk", PASSWORD) as tab:
        yield tab


def test_field_appears_becomes_required_and_server_error_shows_inline(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/e/ticket/new")
    severity = page.locator('.field[data-field="severity"]')
    expect(severity).to_be_hidden()
    notes = page.locator('.field[data-field="notes"]')
    # The rule engine judges every condition, functions included: len(title) > 3 fails on an empty title.
    expect(notes).to_be_hidden()
    expect(page.locator("#f-label")).to_be_disabled()  # a formula field is shown, never entered
    page.fill("#f-title", "Crash on save")
    expect(notes).to_be_visible()
    page.select_option("#f-kind", "bug")
    expect(severity).to_be_visible()
    expect(page.locator("#f-severity")).to_have_attribute("required", "")
    expect(severity.locator("label .req")).to_be_visible()
    page.select_option("#f-kind", "question")
    expect(severity).to_be_hidden()
    page.select_option("#f-kind", "bug")
    page.click("button.primary[type=submit]")  # the form has novalidate: the server decides
    page.wait_for_selector('[data-field="severity"] .field-error')
    assert page.inner_text('[data-field="severity"] .field-error') == "is required"
    expect(severity).to_be_visible()
    page.select_option("#f-severity", "high")
    page.click("button.primary[type=submit]")
    page.wait_for_url("**/e/ticket/*")
    assert "BUG: Crash on save" in page.inner_text("main")


def test_readonly_if_locks_the_field_of_a_closed_record(page: Page, live_url: str, svc: CrmServices) -> None:
    ticket = svc.runtime().create("ticket", {"title": "t", "status": "closed", "resolution": "fixed"})
    page.goto(f"{live_url}/e/ticket/{ticket['id']}/edit")
    expect(page.locator("#f-resolution")).to_be_disabled()
    expect(page.locator("#f-title")).to_be_enabled()
    page.fill("#f-title", "renamed")
    page.click("button.primary[type=submit]")
    page.wait_for_url(f"**/e/ticket/{ticket['id']}")
    assert svc.runtime().get("ticket", ticket["id"])["resolution"] == "fixed"
