"""The field editor in chromium: a label edited, a select's options reordered by dragging, and a retype
whose conversion report lists the records that would fail, before anything is published. Both widths,
both languages, axe-core."""

from __future__ import annotations

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
    drag,
    published_site,
    signed_in,
    tour,
)

pytestmark = pytest.mark.browser
TIER = "/studio/entities/customer/fields/tier"
EMAIL = "/studio/entities/customer/fields/email"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """Customers published, two with e-mail addresses, an administrator."""
    with published_site(tmp_path_factory.mktemp("fieldedit")) as (app, svc):
        svc.runtime().create("customer", {"name": "Ann <a>", "email": "ann@example.com", "tier": "gold"})
        svc.runtime().create("customer", {"name": "Bo", "email": "bo@example.com"})
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with signed_in(browser, base_url, BOSS, BOSS_PASSWORD) as found:
        yield found


def _values(page: Page) -> list[str]:
    return [
        page.locator(".crm-opt-value").nth(i).input_value()
        for i in range(page.locator(".crm-opt-value").count())
    ]


def test_label_options_and_retype_report(admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]) -> None:
    page, _watch = admin
    svc = site[1]
    tour(page, TIER, "studio-field-edit")
    page.goto(TIER + "?lang=en")
    page.fill("#fs-label-en", "Customer tier")
    page.fill("#fs-label-zh", "客户等级")
    page.click(".crm-save-settings")
    page.wait_for_url("**" + TIER)
    expect(page.locator(".crm-toast")).to_contain_text("Settings of tier saved in the draft.")
    expect(page.locator("h1")).to_contain_text("Customer tier")
    tier = next(
        f for f in svc.metadata.draft().documents["entity"]["customer"]["fields"] if f["name"] == "tier"
    )
    assert tier["label"] == {"en": "Customer tier", "zh-CN": "客户等级"}
    # Reorder: silver dragged above gold, and a third option added with its colour.
    assert _values(page) == ["gold", "silver"]
    drag(
        page,
        ".crm-option:nth-child(2) .crm-grip",
        ".crm-option:nth-child(1)",
        landed=".crm-option:nth-child(1) input[value=silver]",
    )
    assert _values(page) == ["silver", "gold"]
    page.click(".crm-add-option")
    page.locator(".crm-opt-value").last.fill("bronze")
    page.locator(".crm-opt-en").last.fill("Bronze")
    page.locator(".crm-opt-zh").last.fill("铜卡")
    page.locator(".crm-opt-color").last.select_option("orange")
    expect(page.locator(".crm-swatch").last).to_have_class("badge crm-swatch bg-orange")
    page.locator(".crm-opt-value").last.press("Tab")
    page.click(".crm-save-options")
    page.wait_for_url("**" + TIER)
    assert _values(page) == ["silver", "gold", "bronze"]
    tier = next(
        f for f in svc.metadata.draft().documents["entity"]["customer"]["fields"] if f["name"] == "tier"
    )
    assert [o["value"] for o in tier["options"]] == ["silver", "gold", "bronze"]
    assert tier["options"][2] == {
        "value": "bronze",
        "color": "orange",
        "label": {"en": "Bronze", "zh-CN": "铜卡"},
    }
    tour(page, TIER, "studio-field-options")
    # Remove gold, which Ann still holds: the engine's data check names her before publishing.
    page.goto(TIER + "?lang=en")
    page.click(".crm-option:nth-child(2) .crm-opt-remove")
    assert _values(page) == ["silver", "bronze"]
    page.click(".crm-save-options")
    page.wait_for_url("**" + TIER)
    findings = page.locator(".crm-field-findings")
    expect(findings).to_contain_text("1 record(s) of customer still use the removed option 'gold' of tier")
    expect(findings.locator(".crm-finding-records a")).to_have_text(["Ann <a>"])
    tour(page, TIER, "studio-field-option-in-use")
    page.goto("/studio/review?lang=zh-CN")
    expect(page.locator(".crm-option-map option").nth(1)).to_have_text("改为 silver")
    tour(page, "/studio/review", "studio-review-option-map")
    # Retype e-mail to integer: the conversion report names both records, before publishing.
    page.goto(EMAIL + "?lang=en")
    page.select_option("#fa-type", "integer")
    page.click(".crm-do-retype")
    page.wait_for_url("**" + EMAIL)
    report = page.locator(".crm-field-findings")
    expect(report).to_contain_text("2 record(s) of customer have email values that cannot become integer")
    expect(report.locator(".crm-finding-records a")).to_have_text(["Ann <a>", "Bo"])
    tour(page, EMAIL, "studio-field-retype")
    page.goto(EMAIL + "?lang=zh-CN")
    expect(page.locator(".crm-field-findings")).to_contain_text("无法转换为 integer")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        audit(page, f"studio-field-retype-report-zh-CN-{width}")
    assert svc.metadata.active_version() == 1  # nothing was published
