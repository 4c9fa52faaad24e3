"""The form designer in chromium: drag a field from the palette into a section, edit its properties, a
condition checked with the engine's message, the live preview following the sample values; both widths,
both languages, axe-core."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import (
    Watch,
    audit,
    drag,
    module_app,
    signed_in,
    tour,
)
from tests.platform.pages.conftest import ENTITIES

pytestmark = pytest.mark.browser
PASSWORD = "designer-pass-123"
FORM = {
    "entity": "customer",
    "tabs": [
        {
            "label": {"en": "Main", "zh-CN": "基本信息"},
            "sections": [
                {"label": {"en": "Who", "zh-CN": "客户"}, "columns": 2, "fields": ["name", "tier", "credit"]},
                {"label": {"en": "Notes", "zh-CN": "备注"}, "columns": 1, "fields": ["notes"]},
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app: customers with a two-section form published, an administrator."""
    with module_app(tmp_path_factory.mktemp("designer")) as app:
        svc: CrmServices = app.extensions["crm"]
        for name, doc in ENTITIES.items():
            svc.metadata.put_document("entity", name, copy.deepcopy(doc), "test")
        svc.metadata.put_document("form", "customer_form", FORM, "test")
        svc.metadata.publish("test", "customers")
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with signed_in(browser, base_url, "boss", PASSWORD) as found:
        yield found


def test_design_a_form_with_a_condition_and_a_live_preview(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    svc = site[1]
    tour(page, "/studio/entities/customer/form", "studio-form-designer")
    page.goto("/studio/entities/customer/form?lang=en")
    preview = page.locator("#crm-preview-form")
    expect(preview.locator('.field[data-field="tier"]')).to_be_visible()
    expect(preview.locator('.field[data-field="vip"]')).to_have_count(0)  # on the palette, not the form
    # Drag "vip" from the palette into the first section.
    drag(
        page,
        '[data-crm-palette] .crm-chip[data-field="vip"] .crm-chip-grip',
        '[data-crm-section] .crm-chip[data-field="tier"]',
        landed='[data-crm-section]:has(.crm-chip[data-field="tier"]) .crm-chip[data-field="vip"]',
    )
    expect(
        page.locator('[data-crm-section]:has(.crm-chip[data-field="tier"]) .crm-chip[data-field="vip"]')
    ).to_have_count(1)
    expect(preview.locator('.field[data-field="vip"]')).to_be_visible()
    # Its properties: a label and a condition; a typo gets the engine's message at its position.
    page.click('.crm-chip[data-field="vip"] .crm-chip-edit')
    page.fill("#p-vip-label_en", "Gold perks")
    page.fill("#p-vip-visible_if", 'tier == "gold" and nope')
    expect(page.locator("#p-vip-visible_if-msg")).to_contain_text("nope")
    expect(page.locator("#p-vip-visible_if-msg mark")).to_have_count(1)
    page.fill("#p-vip-visible_if", 'tier == "gold"')
    expect(page.locator("#p-vip-visible_if")).to_have_class(re.compile(r"is-valid"))
    expect(preview.locator('.field[data-field="vip"]')).to_be_hidden()  # tier is empty in the preview
    preview.locator("#f-tier").select_option("gold")
    expect(preview.locator('.field[data-field="vip"]')).to_be_visible()
    expect(preview.locator('.field[data-field="vip"] label.form-label')).to_contain_text("Gold perks")
    audit(page, "studio-form-designer-editing-en-1366")
    page.click('[data-crm-width="phone"]')
    expect(preview).to_have_attribute("data-width", "phone")
    audit(page, "studio-form-designer-phone-preview-en-1366")
    page.click(".crm-save-form")
    page.wait_for_url("**/studio/entities/customer/form")
    expect(page.locator(".crm-toast")).to_contain_text("Form saved to the draft.")
    form = svc.metadata.draft().documents["form"]["customer_form"]
    first = form["tabs"][0]["sections"][0]["fields"]
    assert sorted(first) == ["credit", "name", "tier", "vip"], form["tabs"]
    assert form["overrides"]["vip"]["label"] == {"en": "Gold perks"}
    fields = {f["name"]: f for f in svc.metadata.draft().documents["entity"]["customer"]["fields"]}
    assert fields["vip"]["rules"] == {"visible_if": 'tier == "gold"'}
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/studio/entities/customer/form?lang=zh-CN")
    expect(page.locator('[data-crm-section] .crm-chip[data-field="vip"]')).to_contain_text("Gold perks")
    audit(page, "studio-form-designer-saved-zh-CN-390")
