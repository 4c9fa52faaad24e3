"""The import assistant in chromium: upload a GBK file, map, dry run, watch the progress, download the
error report; each step checked by axe-core and screenshotted at 1366 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.imports_worker import ImportWorker
from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import (
    WIDTHS,
    Watch,
    audit,
    module_app,
    sign_in,
    tour,
    watched_page,
)
from tests.platform.pages.conftest import ENTITIES

pytestmark = pytest.mark.browser
PASSWORD = "ann-amber-kettle-42"
FILE = "\r\n".join(
    [
        "名称,等级,email,company,单号,lines.item,lines.qty",
        "甲商行,金卡,a@x.com,ACME Trading,O1,茶叶,2",
        ",,,,O1,瓷器,1",
        "乙商行,silver,b@x.com,Nobody Ltd,O2,茶叶,1",
        "丙商行,gold,c@x.com,acme trading,O3,丝绸,3",
    ]
).encode("gbk")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app with its import worker running, one company and an administrator."""
    with module_app(tmp_path_factory.mktemp("imports")) as app:
        svc: CrmServices = app.extensions["crm"]
        for name, doc in ENTITIES.items():
            svc.metadata.put_document("entity", name, doc, "test")
        svc.metadata.publish("test", "import page tests")
        svc.runtime().create("company", {"name": "ACME Trading"})
        create_user(svc.engine, "boss", PASSWORD, is_admin=True)
        worker = ImportWorker(svc, interval=0.5, batch=1)  # small batches: the progress moves visibly
        app.extensions["crm.imports"] = worker
        worker.start()
        yield app, svc
        worker.stop()


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with watched_page(browser, base_url) as (page, watch):
        sign_in(page, "boss", PASSWORD)
        yield page, watch


def names(svc: CrmServices) -> dict[str, str]:
    table = svc.runtime().model.entity("customer").table
    with svc.engine.connect() as conn:
        return {row.name: row.tier for row in conn.execute(sa.select(table.c.name, table.c.tier))}


def views(page: Page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        audit(page, f"{name}-{width}")
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_import_with_dry_run_progress_and_error_report(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, watch = admin
    tour(page, "/e/customer/import", "import-upload", watch=watch)
    page.goto("/e/customer?lang=zh-CN")
    page.click("a.import")
    page.wait_for_url("**/e/customer/import")
    page.set_input_files("#import-file", {"name": "客户.csv", "mimeType": "text/csv", "buffer": FILE})
    page.click("button.upload")
    expect(page.locator(".crm-import-map tbody tr")).to_have_count(7)
    # Matched by the zh-CN label (名称), the field name (email, company) and the line columns.
    assert page.locator(".crm-import-map select").nth(0).input_value() == "name"
    assert page.locator(".crm-import-map select").nth(1).input_value() == ""
    page.locator(".crm-import-map select").nth(1).select_option("tier")
    page.select_option("#import-parent", "单号")
    page.check("input.form-check-input[value=email]")
    views(page, "import-map-zh-CN")
    page.click("button.dry-run")
    expect(page.locator(".crm-import-errors tbody tr")).to_have_count(1)
    # The engine's message in the reader's language (it was English on this Chinese page).
    expect(page.locator(".crm-import-errors tbody tr")).to_contain_text("找不到 company 记录“Nobody Ltd”")
    views(page, "import-check-zh-CN")
    assert names(site[1]) == {}  # the dry run wrote nothing
    page.click("button.run")
    expect(page.locator(".run-progress .progress-bar")).to_be_visible()
    expect(page.locator("button.undo")).to_be_visible(timeout=20_000)
    expect(page.locator(".result-count[data-kind=created]")).to_have_text("2")
    expect(page.locator(".result-count[data-kind=failed]")).to_have_text("1")
    expect(page.locator(".crm-import-progress")).to_contain_text("3 / 3")
    views(page, "import-result-zh-CN")
    with page.expect_download() as download:
        page.click("a.error-report")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[1] == "4,company,failed,找不到 company 记录“Nobody Ltd”"
    assert names(site[1]) == {"丙商行": "gold", "甲商行": "gold"}
