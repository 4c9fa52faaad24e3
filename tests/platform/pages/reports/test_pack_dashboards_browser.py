"""Each industry pack's cockpit in chromium: the three bundled packs are installed with their sample data, each
pack's manager signs in, lands on her cockpit, and every widget fills in with something to read (a number,
a chart with data, rows); at 1366 px and 390 px, in English and Chinese, checked by axe-core."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from crm_platform.auth.passwords import hash_password
from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from industry_templates.installer import install_pack
from metamodel.records.hooks import Actor
from tests.platform.pages.browsersupport import Watch, audit, module_app, sign_in, watched_page

pytestmark = pytest.mark.browser
PASSWORD = "ann-amber-kettle-42"
SLOW = 30_000  # every widget is its own request: on a loaded machine a cockpit takes a while to fill in
# pack -> (its manager, the cockpit she lands on)
COCKPITS = {
    "retail": ("sh01_manager", "retail_cockpit"),
    "manufacturing": ("mfg_manager", "service_cockpit"),
    "education": ("edu_director", "campus_cockpit"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app: the three bundled packs with sample data; every demo user's password is PASSWORD."""
    with module_app(tmp_path_factory.mktemp("cockpits")) as app:
        svc: CrmServices = app.extensions["crm"]
        admin = create_user(svc.engine, "boss", PASSWORD, is_admin=True)
        actor = Actor(admin.id, "boss", True)
        for pack in COCKPITS:
            install_pack(svc, pack, with_sample_data=True, actor=actor, password_hash=hash_password(PASSWORD))
        yield app, svc


@pytest.fixture
def fresh(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page with no one signed in yet; charts skip their animation."""
    with watched_page(browser, base_url) as (page, watch):
        page.emulate_media(reduced_motion="reduce")
        yield page, watch


def check_widget(page: Page, widget: Locator) -> None:
    """Wait for one widget to load and check it shows something: a number, chart data or rows."""
    body = widget.locator(".card-body")
    expect(body.locator(".crm-widget-loading")).to_have_count(0, timeout=SLOW)
    title = widget.locator(".card-title").inner_text()
    expect(body.locator(".crm-widget-error, .crm-report-error, .crm-empty"), title).to_have_count(0)
    if body.locator(".crm-chart").count():
        chart = body.locator(".crm-chart")
        expect(chart, title).to_have_attribute("data-drawn", "1")
        values = page.evaluate(
            "box => echarts.getInstanceByDom(box).getOption().series"
            ".flatMap(s => s.data.map(d => d !== null && typeof d === 'object' ? d.value : d))",
            chart.element_handle(),
        )
        assert any(v not in (None, 0) for v in values), f"{title}: chart without data {values}"
    elif body.locator(".crm-number-big").count():
        text = body.locator(".crm-number-big").inner_text().strip()
        assert text and text != "–", f"{title}: number {text!r}"
    else:
        expect(body.locator("tbody tr").first, title).to_be_visible()


@pytest.mark.parametrize("pack", list(COCKPITS))
def test_the_managers_cockpit_fills_every_widget(fresh: tuple[Page, Watch], pack: str) -> None:
    page, _watch = fresh
    manager, cockpit = COCKPITS[pack]
    sign_in(page, manager, PASSWORD)
    for locale, width in (("en", 1366), ("zh-CN", 390)):
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        page.goto(f"/?lang={locale}")
        grid = page.locator(f'.crm-dashboard[data-dashboard="{cockpit}"]')
        expect(grid).to_be_visible()
        widgets = grid.locator(".crm-widget")
        assert widgets.count() >= 6
        for index in range(widgets.count()):
            check_widget(page, widgets.nth(index))
        audit(page, f"cockpit-{pack}-{locale}-{width}")
