"""The import assistant in English, in chromium: upload a CSV, map it, a dry run checked in the background
with its progress, the errors it found, the run with its progress and the result; each step checked
by axe-core and screenshotted at 1366 and 390 px."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.imports_worker import ImportWorker
from crm_platform.services import CrmServices
from metamodel.imports import checks, runner
from tests.platform.pages.browsersupport import Watch, module_app, sign_in, watched_page
from tests.platform.pages.conftest import ENTITIES
from tests.platform.pages.test_import_browser import names, views

pytestmark = pytest.mark.browser
PASSWORD = "Tq8#vLm2-Rainforest"
GOOD = 40
ROWS = [f"Customer {i:02d},Gold,c{i}@example.com,ACME Trading,O{i},Tea,{i % 5 + 1}" for i in range(GOOD)]
ROWS.insert(10, "Bad Tier,Platinum,bt@example.com,ACME Trading,OB1,Tea,1")  # row 12: no such tier
ROWS.insert(20, "Lost Co,Gold,lc@example.com,Nobody Ltd,OB2,Tea,1")  # row 22: no such company
FILE = "\n".join(["Name,Tier,Email,Company,Order,Item,Qty", *ROWS]).encode("utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app with its import worker running, one company and an administrator."""
    with module_app(tmp_path_factory.mktemp("imports-en")) as app:
        svc: CrmServices = app.extensions["crm"]
        for name, doc in ENTITIES.items():
            svc.metadata.put_document("entity", name, doc, "test")
        svc.metadata.publish("test", "import page tests")
        svc.runtime().create("company", {"name": "ACME Trading"})
        create_user(svc.engine, "boss", PASSWORD, is_admin=True)
        worker = ImportWorker(svc, interval=0.5, batch=4)
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


@pytest.fixture
def slow_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of more than 10 records are checked in the background, 4 a batch, each batch taking a
    moment longer, so the page shows the dry run's progress while it runs."""
    monkeypatch.setattr(checks, "INLINE_UNITS", 10)
    monkeypatch.setattr(runner, "BATCH", 4)
    told = ImportWorker._progress

    def slowed(worker: ImportWorker, job_id: int) -> Callable[[int], None]:
        inner = told(worker, job_id)

        def tell(done: int) -> None:
            inner(done)
            time.sleep(0.6)

        return tell

    monkeypatch.setattr(ImportWorker, "_progress", slowed)


@pytest.mark.usefixtures("slow_check")
def test_import_journey_in_english(admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]) -> None:
    page, _ = admin
    page.goto("/e/customer?lang=en")
    page.click("a.import")
    page.wait_for_url("**/e/customer/import")
    expect(page.locator("h1.page-title")).to_have_text("Import")
    views(page, "import-upload-en")
    page.set_input_files("#import-file", {"name": "customers.csv", "mimeType": "text/csv", "buffer": FILE})
    page.click("button.upload")
    expect(page.locator(".crm-import-map tbody tr")).to_have_count(7)
    # Matched by the English labels (Name), the field names (email, company) and the line columns.
    selects = page.locator(".crm-import-map select")
    assert [selects.nth(i).input_value() for i in range(4)] == ["name", "tier", "email", "company"]
    selects.nth(5).select_option("lines.item")
    selects.nth(6).select_option("lines.qty")
    page.select_option("#import-parent", "Order")
    page.check("input.form-check-input[value=email]")
    views(page, "import-map-en")
    page.click("button.dry-run")
    # 42 records: more than the inline limit, so the worker checks them and the page follows.
    checking = page.locator(".crm-import-checking")
    expect(checking).to_be_visible()
    expect(checking).to_contain_text("Checking every row in the background")
    expect(checking.locator(".checked-rows")).to_contain_text("/ 42 rows checked")
    # Rows checked, rows/s and the time left, while the worker is still at it.
    expect(checking.locator(".check-rate")).to_be_visible(timeout=10_000)
    expect(checking.locator(".check-rate")).to_contain_text("rows/s")
    expect(checking.locator(".check-eta")).to_contain_text("s left")
    assert not checking.locator(".checked-rows").inner_text().startswith("42 /")
    views(page, "import-checking-en")
    errors = page.locator(".crm-import-errors tbody tr")
    expect(errors).to_have_count(2, timeout=30_000)
    expect(errors.nth(0)).to_contain_text("12")
    expect(errors.nth(0)).to_contain_text("Tier")
    expect(errors.nth(1)).to_contain_text("no company record 'Nobody Ltd'")
    expect(page.locator(".crm-import-counts")).to_contain_text(str(GOOD))
    views(page, "import-check-en")
    assert names(site[1]) == {}  # the dry run wrote nothing
    page.click("button.run")
    expect(page.locator(".run-progress .progress-bar")).to_be_visible()
    expect(page.locator(".crm-import-progress")).to_contain_text("/ 42")
    expect(page.locator("button.undo")).to_be_visible(timeout=30_000)
    expect(page.locator(".result-count[data-kind=created]")).to_have_text(str(GOOD))
    expect(page.locator(".result-count[data-kind=failed]")).to_have_text("2")
    expect(page.locator(".crm-import-progress")).to_contain_text("42 / 42")
    expect(page.locator(".card-title").filter(has_text="Import finished")).to_be_visible()
    views(page, "import-result-en")
    with page.expect_download() as download:
        page.click("a.error-report")
    lines = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[2] == "22,Company,failed,no company record 'Nobody Ltd'"
    stored = names(site[1])
    assert len(stored) == GOOD and set(stored.values()) == {"gold"}
