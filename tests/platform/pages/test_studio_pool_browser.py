"""The lead-pool settings page in chromium: switched on from the entity's page, fields hidden until claimed,
a claim limit, the return after N days without follow-up unless a condition holds (checked by the
server as the admin types, refused when the database cannot judge it), tested on live data, saved,
published; who may claim ticked per role. Both widths, both languages, axe-core."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.access import AccessAdmin
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
PASSWORD = BOSS_PASSWORD  # the seller's too


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """Customers published, two held by a seller who has not followed them up for 40 days, a sales role."""
    with published_site(tmp_path_factory.mktemp("pool")) as (app, svc):
        seller = create_user(svc.engine, "seller", PASSWORD, display_name="Li Na").id
        runtime = svc.runtime()
        runtime.create("customer", {"name": "Quiet <co>", "tier": "silver", "owner_id": seller})
        runtime.create("customer", {"name": "Gold Ltd", "tier": "gold", "owner_id": seller})
        AccessAdmin(svc.engine, svc.clock).create_role("sales", {"en": "Sales", "zh-CN": "销售"})
        real = svc.rules.clock
        svc.rules.clock = lambda: real() + dt.timedelta(days=40)
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with signed_in(browser, base_url, BOSS, BOSS_PASSWORD) as found:
        yield found


def test_pool_settings_configured_tested_published(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, watch = admin
    svc = site[1]
    page.goto("/studio/entities/customer?lang=en")
    page.click(".crm-open-pool")
    page.wait_for_url("**/studio/entities/customer/pool")
    expect(page.locator(".crm-pool-settings")).to_be_hidden()  # no pool yet: only the switch
    tour(page, "/studio/entities/customer/pool", "studio-pool-off")
    page.goto("/studio/entities/customer/pool?lang=en")
    page.check("#pool-enabled")
    expect(page.locator(".crm-pool-settings")).to_be_visible()
    page.check("input[name=contact_fields][value=email]")
    page.fill("#pool-claim-limit", "5")
    page.fill("#pool-days", "30")
    page.select_option("#pool-follow-up", "seen_at")
    unless = page.locator("#pool-unless")
    unless.press_sequentially("len(name) > 3")
    expect(page.locator("#pool-unless-msg")).to_contain_text("the database must be able to judge")
    audit(page, "studio-pool-unless-error-en-1366")
    unless.fill("")
    unless.press_sequentially('tier == "gold"')
    expect(unless).to_have_class(re.compile(r"is-valid"))
    page.click(".crm-test-pool")
    expect(page.locator(".crm-pool-count")).to_contain_text("1")
    expect(page.locator(".crm-pool-list a")).to_have_text("Quiet <co>")
    audit(page, "studio-pool-tested-en-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    audit(page, "studio-pool-tested-en-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.click(".crm-save-pool")
    page.wait_for_url("**/studio/entities/customer/pool")
    expect(page.locator(".crm-toast")).to_contain_text("Lead pool settings saved to the draft.")
    assert svc.metadata.draft().documents["entity"]["customer"]["pool"] == {
        "contact_fields": ["email"],
        "claim_limit": 5,
        "return_after_days": 30,
        "follow_up_field": "seen_at",
        "return_unless": 'tier == "gold"',
    }
    expect(page.locator(".crm-pool-open")).to_be_visible()  # access control is off: anyone may claim
    page.check("input[name=roles][value=sales]")
    page.click(".crm-save-claimers")
    expect(page.locator(".crm-toast")).to_contain_text("Who may claim is saved (1 changes)")
    expect(page.locator("input[name=roles][value=sales]")).to_be_checked()
    tour(page, "/studio/entities/customer/pool", "studio-pool")
    tour(page, "/studio/pool", "studio-pool-overview")
    page.goto("/studio/entities/customer/pool?lang=zh-CN")
    watch.allow(422, "/studio/entities/customer/pool")
    page.fill("#pool-days", "0")
    page.click(".crm-save-pool")
    expect(page.locator("#pool-return_after_days-err")).to_have_text("请输入 1 到 3650 之间的整数")
    expect(page.locator("#pool-days")).to_have_value("0")  # what she typed stays, to correct
    audit(page, "studio-pool-refused-zh-CN-1366")
    page.goto("/studio/review?lang=en")
    page.click(".crm-publish-now")
    page.wait_for_url("**/studio/history*")
    published = svc.metadata.model().entity("customer").entity.doc["pool"]
    assert published["return_after_days"] == 30 and published["return_unless"] == 'tier == "gold"'
    page.goto("/studio/pool?lang=en")
    expect(page.locator(".crm-pool-row[data-entity=customer]")).to_contain_text(
        "back to the pool after 30 days without follow-up"
    )
