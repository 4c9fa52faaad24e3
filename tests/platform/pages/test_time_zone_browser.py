"""Time zones in chromium: an administrator picks the site's zone in the studio (searchable picker, a
translated error for an unknown zone), a user picks her own, and forms show and read times in it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import SCREENSHOTS, Watch, module_app, sign_in, tour, watched_page

pytestmark = pytest.mark.browser
PASSWORD = "ann-amber-kettle-42"
VISIT = {
    "label": {"en": "Visit", "zh-CN": "拜访"},
    "title_field": "name",
    "list_fields": ["name", "starts_at"],
    "fields": [
        {"name": "name", "type": "text", "required": True, "label": {"en": "Name", "zh-CN": "名称"}},
        {"name": "starts_at", "type": "datetime", "label": {"en": "Starts at", "zh-CN": "开始时间"}},
    ],
}
# 17:30 UTC on 2 March: 01:30 on 3 March in Shanghai, 12:30 on 2 March in New York.
STARTS = "2026-03-02T17:30:00Z"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """Visits, an administrator and a sales rep."""
    with module_app(tmp_path_factory.mktemp("zones")) as app:
        svc: CrmServices = app.extensions["crm"]
        svc.metadata.put_document("entity", "visit", VISIT, "test")
        svc.metadata.publish("test", "visits")
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        create_user(svc.engine, "rep", PASSWORD, display_name="Li Na")
        svc.runtime().create("visit", {"name": "Store opening", "starts_at": STARTS})
        yield app, svc


def _keep(name: str) -> None:
    """Copy the tour's screenshots of ``name`` where the brief's reviewers look (/tmp/shots/timezone)."""
    target = Path("/tmp/shots/timezone")
    target.mkdir(parents=True, exist_ok=True)
    for shot in SCREENSHOTS.glob(f"{name}-*.png"):
        shutil.copy(shot, target / shot.name)


def _pick(page: Page, search: str, option: str) -> None:
    """Search the zone picker (Tom Select) and choose an option."""
    page.locator(".crm-zone-field .ts-control").click()
    page.keyboard.type(search)
    page.locator(".ts-dropdown .option", has_text=option).first.click()
    expect(page.locator("#time_zone")).to_have_value(option)
    # Close the list, and make sure it stays closed: under load a late keystroke reopened it over Save.
    dropdown = page.locator(".crm-zone-field .ts-dropdown")
    for _ in range(5):
        page.keyboard.press("Escape")
        page.wait_for_timeout(100)
        if not dropdown.is_visible():
            break
    expect(dropdown).to_be_hidden()


@pytest.fixture
def boss(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    with watched_page(browser, base_url) as found:
        sign_in(found[0], "boss", PASSWORD)
        yield found


@pytest.fixture
def rep(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    with watched_page(browser, base_url) as found:
        sign_in(found[0], "rep", PASSWORD)
        yield found


def test_the_administrator_sets_the_site_zone(
    boss: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, watch = boss
    svc = site[1]
    tour(page, "/studio/settings", "zone-site-settings")
    _keep("zone-site-settings")
    page.goto("/studio/settings?lang=en")
    _pick(page, "Shanghai", "Asia/Shanghai")
    page.locator(".crm-site-zone button[type=submit]").click()
    expect(page.locator(".crm-zone-now")).to_contain_text("Asia/Shanghai")  # the saved page shows it
    assert svc.metadata.model().time_zone.key == "Asia/Shanghai"
    # A zone the picker does not offer (a stale bookmark, a hand-made request) is refused in words.
    watch.allow(422, "/studio/settings")
    page.goto("/studio/settings?lang=zh-CN")
    page.evaluate(
        "() => { const s = document.getElementById('time_zone').tomselect;"
        " s.addOption({value: 'Mars/Base', text: 'Mars/Base'}); s.setValue('Mars/Base'); }"
    )
    page.locator(".crm-site-zone button[type=submit]").click()
    expect(page.locator("#time_zone-error")).to_have_text(
        "“Mars/Base”不是有效的时区，请从列表中选择，例如 Asia/Shanghai。"
    )
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        page.screenshot(path=f"/tmp/shots/timezone/zone-site-error-zh-CN-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    assert svc.metadata.model().time_zone.key == "Asia/Shanghai"
    page.goto("/e/visit?lang=en")
    expect(page.locator("td time").first).to_have_text("03-03 01:30")


def test_a_user_picks_her_zone_and_types_times_in_it(
    rep: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = rep
    svc = site[1]
    tour(page, "/account/preferences", "zone-preferences")
    _keep("zone-preferences")
    page.goto("/account/preferences?lang=en")
    _pick(page, "New York", "America/New_York")
    page.locator(".crm-own-zone button[type=submit]").click()
    expect(page.locator(".crm-zone-now")).to_contain_text("America/New_York")  # the saved page shows it
    record_id = 1  # the module's one visit
    page.goto(f"/e/visit/{record_id}?lang=en")
    expect(page.locator('[data-field="starts_at"] dd time')).to_have_text("Mar 2, 2026, 12:30")
    page.goto(f"/e/visit/{record_id}/edit?lang=en")
    field = page.locator("#f-starts_at")
    expect(field).to_have_value("2026-03-02T12:30")
    expect(page.locator(".crm-zone .d-sm-inline")).to_have_text("America/New_York")
    tour(page, f"/e/visit/{record_id}/edit", "zone-datetime-form")
    _keep("zone-datetime-form")
    page.goto(f"/e/visit/{record_id}/edit?lang=en")
    page.locator("#f-starts_at").fill("2026-03-05T09:15")
    page.locator("button[type=submit].primary").first.click()
    page.wait_for_url(f"**/e/visit/{record_id}")
    assert svc.runtime().get("visit", record_id)["starts_at"] == "2026-03-05T14:15:00Z"  # 09:15 EST
    tour(page, f"/e/visit/{record_id}", "zone-record-page")
    _keep("zone-record-page")
