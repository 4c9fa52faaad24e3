"""A field's validation rule in chromium, the whole path: from the entity's field list to the field page,
a rule typed with the expression editor's live check (a bad condition marked with the engine's words),
tested on live data, saved and published; then a record form refuses a value that breaks it with the
admin's message in English and in Chinese. Both widths, both languages, axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import (
    BOSS,
    BOSS_PASSWORD,
    Watch,
    audit,
    published_site,
    signed_in,
    tour,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """Customers published, one owing money, an administrator."""
    with published_site(tmp_path_factory.mktemp("fieldrules")) as (app, svc):
        svc.runtime().create("customer", {"name": "Owes <money>", "credit": -5})
        svc.runtime().create("customer", {"name": "Pays", "credit": 50})
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with signed_in(browser, base_url, BOSS, BOSS_PASSWORD) as found:
        yield found


def test_field_rule_configured_published_and_enforced(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, watch = admin
    svc = site[1]
    page.goto("/studio/entities/customer?lang=en")
    page.click("#field-credit .crm-field-link")
    page.wait_for_url("**/studio/entities/customer/fields/credit")
    expect(page.locator(".crm-empty-validations")).to_contain_text("No validation rules yet")
    tour(page, "/studio/entities/customer/fields/credit", "studio-field-empty")
    page.goto("/studio/entities/customer/fields/credit?lang=en")
    page.click(".crm-new-field-validation")
    page.wait_for_load_state()
    expect(page.locator("#v-field")).to_have_count(0)  # a field's rule is shown at the field itself
    condition = page.locator("#v-condition")
    condition.press_sequentially("cred")
    expect(page.locator(".crm-expr-list [role=option]").first).to_contain_text("credit")
    condition.press("ArrowDown")
    condition.press("Enter")
    condition.press_sequentially(" >= nothing")
    expect(page.locator("#v-condition-msg")).to_contain_text("nothing")
    expect(page.locator("#v-condition-msg mark")).to_have_count(1)
    audit(page, "studio-field-rule-error-en-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    audit(page, "studio-field-rule-error-en-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    watch.allow(422, "/studio/entities/customer/fields/credit/validations/new")
    page.fill("#v-message-en", "Credit cannot be negative")
    page.click(".crm-save-rule")  # saving a bad condition is refused, the engine's words beside it
    expect(page.locator("#v-condition-msg")).to_contain_text("nothing")
    expect(page.locator(".alert-danger")).to_contain_text("Nothing was saved")
    page.fill("#v-condition", "credit >= 0")
    page.locator("#v-condition").press("End")
    expect(page.locator("#v-condition")).to_have_class(re.compile(r"is-valid"))
    page.fill("#v-message-zh", "额度不能为负数")
    page.click(".crm-test-rule")
    expect(page.locator(".crm-dryrun-count")).to_contain_text("1")
    expect(page.locator(".crm-dryrun-list a")).to_have_text("Owes <money>")
    page.click(".crm-save-rule")
    page.wait_for_url("**/studio/entities/customer/fields/credit")
    expect(page.locator(".crm-toast")).to_contain_text("Rule saved to the draft.")
    expect(page.locator(".crm-field-validation")).to_contain_text("Credit cannot be negative")
    expect(page.locator(".crm-field-validation")).to_contain_text("额度不能为负数")
    fields = {f["name"]: f for f in svc.metadata.draft().documents["entity"]["customer"]["fields"]}
    assert fields["credit"]["rules"]["validations"] == [
        {
            "condition": "credit >= 0",
            "message": {"en": "Credit cannot be negative", "zh-CN": "额度不能为负数"},
        }
    ]
    tour(page, "/studio/entities/customer/fields/credit", "studio-field-rules")
    tour(page, "/studio/entities/customer/fields/credit/validations/0", "studio-field-rule-edit")
    page.goto("/studio/review?lang=en")
    page.fill("#publish-comment", "Credit rule")
    page.click(".crm-publish-now")
    page.wait_for_url("**/studio/history*")
    for lang, message in (("en", "Credit cannot be negative"), ("zh-CN", "额度不能为负数")):
        watch.allow(422, "/e/customer/new")
        page.goto(f"/e/customer/new?lang={lang}")
        page.fill("input[name=name]", "Debtor")
        page.fill("input[name=credit]", "-3")
        page.locator("form button[type=submit]").last.click()
        expect(page.locator("#err-credit")).to_have_text(message)
        for width in (1366, 390):
            page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
            audit(page, f"record-field-rule-refused-{lang}-{width}")
        page.set_viewport_size({"width": 1366, "height": 900})
    page.fill("input[name=credit]", "30")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/e/customer/\d+$"))
    expect(page.locator("h1")).to_contain_text("Debtor")
