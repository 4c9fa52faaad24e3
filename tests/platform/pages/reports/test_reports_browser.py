"""Reports in chromium, as a manager: build a bar chart in the builder (live preview), save it, add it to her
dashboard, open the dashboard and click a bar to drill down to exactly the records behind it; in English at
1366 px and in Chinese at 390 px, every view checked by axe-core and screenshotted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import Watch, audit, module_app, sign_in, watched_page

pytestmark = pytest.mark.browser
PASSWORD = "ann-amber-kettle-42"
SLOW = 20_000  # a live preview is a server round trip: give it time on a loaded machine

SALE = {
    "label": {"en": "Sale", "zh-CN": "销售单"},
    "title_field": "code",
    "list_fields": ["code", "store", "amount"],
    "fields": [
        {"name": "code", "type": "text", "required": True, "label": {"en": "Code", "zh-CN": "单号"}},
        {
            "name": "store",
            "type": "select",
            "label": {"en": "Store", "zh-CN": "门店"},
            "options": [
                {"value": "north", "label": {"en": "North", "zh-CN": "北区店"}},
                {"value": "south", "label": {"en": "South", "zh-CN": "南区店"}},
                {"value": "east", "label": {"en": "East", "zh-CN": "东区店"}},
            ],
        },
        {"name": "amount", "type": "decimal", "label": {"en": "Amount", "zh-CN": "金额"}},
        {"name": "ordered_at", "type": "datetime", "label": {"en": "Ordered at", "zh-CN": "下单时间"}},
        {"name": "delivered_at", "type": "datetime", "label": {"en": "Delivered at", "zh-CN": "送达时间"}},
    ],
}
# Sales per store: each bar differs, so a drill-down that opens the wrong store shows the wrong count.
SALES = {"north": 4, "south": 2, "east": 1}
LABELS = {"en": {"south": "South"}, "zh-CN": {"south": "南区店"}}
LABELS_EAST = {"en": "East", "zh-CN": "东区店"}
# Hours from order to delivery, the same for every sale of a store: the mean per store is this.
DELIVERY_HOURS = {"north": 2, "south": 5, "east": 8}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app: sales of three stores and a manager who may configure the site."""
    with module_app(tmp_path_factory.mktemp("reports")) as app:
        svc: CrmServices = app.extensions["crm"]
        svc.metadata.put_document("entity", "sale", SALE, "test")
        svc.metadata.publish("test", "report browser tests")
        runtime = svc.runtime()
        for store, count in SALES.items():
            for i in range(count):
                sale = {"code": f"{store[0].upper()}{i}", "store": store, "amount": "10.5"}
                ordered = dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC) + dt.timedelta(days=i)
                sale["ordered_at"] = ordered.isoformat()
                sale["delivered_at"] = (ordered + dt.timedelta(hours=DELIVERY_HOURS[store])).isoformat()
                runtime.create("sale", sale)
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        yield app, svc


@pytest.fixture
def manager(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the manager."""
    with watched_page(browser, base_url) as (page, watch):
        sign_in(page, "boss", PASSWORD)
        # Charts skip their growing animation, so a bar is where it will stay when the test clicks it.
        page.emulate_media(reduced_motion="reduce")
        yield page, watch


def chart_ready(box: Locator) -> None:
    """Wait until ECharts has drawn into ``box`` (the SVG renderer puts an <svg> in it)."""
    expect(box).to_have_attribute("data-drawn", "1", timeout=SLOW)
    expect(box.locator("svg").first).to_be_visible()


def click_bar(page: Page, box: Locator, category: int, value: float) -> None:
    """Click the middle of a bar: ECharts converts the data point to pixels inside its box."""
    box.scroll_into_view_if_needed()
    x, y = page.evaluate(
        "([box, c, v]) => echarts.getInstanceByDom(box).convertToPixel({seriesIndex: 0}, [c, v])",
        [box.element_handle(), category, value / 2],
    )
    frame = box.bounding_box()
    assert frame is not None
    page.mouse.click(frame["x"] + x, frame["y"] + y)


@pytest.mark.parametrize(("locale", "width"), [("en", 1366), ("zh-CN", 390), ("en", 390), ("zh-CN", 1366)])
def test_build_a_chart_put_it_on_a_dashboard_and_drill_down(
    manager: tuple[Page, Watch], locale: str, width: int
) -> None:
    page, _watch = manager
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    name = f"sales_by_store_{locale.replace('-', '_').lower()}_{width}"
    page.goto(f"/reports/new?entity=sale&lang={locale}")
    expect(page.locator("html")).to_have_attribute("lang", locale)
    builder = page.locator("#report-builder")
    expect(builder).to_have_attribute("data-ready", "1")  # htmx has taken the form over
    preview = page.locator("#report-preview")
    # Group by store, count the sales, draw bars: the live preview follows each choice.
    builder.locator("#pick-dim1").select_option("store")
    expect(preview.locator(".report-table tbody tr")).to_have_count(len(SALES), timeout=SLOW)
    builder.locator("#pick-m1").select_option("count")
    builder.locator(".crm-chart-pick label").filter(has=page.locator("input[value=bar]")).click()
    chart_ready(preview.locator(".crm-chart"))
    expect(preview.locator(".report-table tbody tr")).to_have_count(len(SALES))
    # The form kept every choice across the preview's swaps.
    expect(builder.locator("#pick-dim1")).to_have_value("store")
    expect(builder.locator("input[name=chart][value=bar]")).to_be_checked()
    audit(page, f"reports-builder-{locale}-{width}")
    builder.locator("#report-label").fill("Sales by store" if locale == "en" else "各门店销售单数")
    builder.locator("#report-name").fill(name)
    builder.locator(".crm-save-report").click()
    page.wait_for_url(f"**/reports/{name}")
    view = page.locator(".crm-report-body")
    chart_ready(view.locator(".crm-chart"))
    expect(view.locator(".report-table tbody tr")).to_have_count(len(SALES))
    audit(page, f"reports-view-{locale}-{width}")
    # Put it on her own dashboard; the dashboard opens with the widget loading by itself.
    page.locator("#add-target").select_option("my_dashboard")
    page.locator(".crm-add-widget").click()
    page.wait_for_url("**/dashboards/my_dashboard")
    widget = page.locator(".crm-widget").filter(has=page.locator(f'a[href$="/reports/{name}"]'))
    box = widget.locator(".crm-chart")
    chart_ready(box)
    audit(page, f"reports-dashboard-{locale}-{width}")
    # The bars follow the sort of the result: find the south store's bar and open its sales.
    categories = page.evaluate(
        "box => echarts.getInstanceByDom(box).getOption().xAxis[0].data", box.element_handle()
    )
    south = categories.index(LABELS[locale]["south"])
    click_bar(page, box, south, SALES["south"])
    page.wait_for_url("**/e/sale?**store=south**")
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(SALES["south"])
    assert sorted(rows.locator(".crm-title-link").all_inner_texts()) == ["S0", "S1"]
    audit(page, f"reports-drill-{locale}-{width}")


@pytest.mark.parametrize(("locale", "width"), [("en", 1366), ("zh-CN", 390)])
def test_build_a_mean_time_to_deliver_report(manager: tuple[Page, Watch], locale: str, width: int) -> None:
    page, _watch = manager
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    page.goto(f"/reports/new?entity=sale&lang={locale}")
    builder = page.locator("#report-builder")
    expect(builder).to_have_attribute("data-ready", "1")
    preview = page.locator("#report-preview")
    builder.locator("#pick-dim1").select_option("store")
    expect(preview.locator(".report-table tbody tr")).to_have_count(len(SALES), timeout=SLOW)
    # The average time from order to delivery, in hours, per store, largest first.
    builder.locator("#pick-dur-fn").select_option("avg")
    builder.locator("#pick-dur-since").select_option("ordered_at")
    builder.locator("#pick-dur-field").select_option("delivered_at")
    builder.locator("#pick-sort").select_option("-dur")
    heading = {
        "en": "Average time from Ordered at to Delivered at (hours)",
        "zh-CN": "下单时间至送达时间平均时长（小时）",
    }[locale]
    table = preview.locator(".report-table")
    expect(table.locator("thead")).to_contain_text(heading, timeout=SLOW)
    expect(table.locator("tbody tr").first).to_contain_text(LABELS_EAST[locale], timeout=SLOW)
    hours = [row.locator("td").last.inner_text().strip() for row in table.locator("tbody tr").all()]
    assert hours == ["8", "5", "2"]
    audit(page, f"reports-duration-{locale}-{width}")
    builder.locator("#report-label").fill("Time to deliver" if locale == "en" else "平均送达时长")
    builder.locator("#report-name").fill(f"time_to_deliver_{width}")
    builder.locator(".crm-save-report").click()
    page.wait_for_url(f"**/reports/time_to_deliver_{width}")
    expect(page.locator(".crm-report-body .report-table thead")).to_contain_text(heading)
