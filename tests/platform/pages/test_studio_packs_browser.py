"""Industry packs in the studio, in chromium: install a pack, preview its upgrade with the conflict list in
words, upgrade, uninstall keeping the records; both widths, both languages, axe-core, no console errors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from industry_templates import installer
from tests.industry_templates.packsupport import bundle_dir, fixture_pack
from tests.platform.pages.browsersupport import LOCALES, WIDTHS, Watch, audit, module_app, signed_in, tour

pytestmark = pytest.mark.browser
PASSWORD = "pack-admin-pass-123"


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Bundled packs: tinyshop 1.0 (the test moves it on to 1.1)."""
    root = bundle_dir(tmp_path_factory.mktemp("bundled"), tinyshop=fixture_pack("tinyshop-1.0"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(installer, "BUNDLED_DIR", root)
        yield root


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, bundled: Path) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app: nothing installed, an administrator."""
    with module_app(tmp_path_factory.mktemp("packs")) as app:
        svc: CrmServices = app.extensions["crm"]
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with signed_in(browser, base_url, "boss", PASSWORD) as found:
        yield found


def test_install_preview_conflicts_upgrade_and_uninstall(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices], bundled: Path
) -> None:
    page, _ = admin
    svc = site[1]
    tour(page, "/studio/packs", "studio-packs-empty")
    page.goto("/studio/packs?lang=en")
    card = page.locator("[data-pack=tinyshop]")
    card.locator(".crm-pack-install button[type=submit]").click()
    expect(page.locator(".crm-toasts")).to_contain_text("Installed tinyshop 1.0.0")
    expect(card).to_contain_text("Member")
    expect(card).not_to_contain_text("visit_line")  # a child table, not one of the pack's entities
    # The site renames members; the pack's next version does too.
    member = copy.deepcopy(svc.metadata.draft().documents["entity"]["member"])
    member["label"] = {"en": "Shopper", "zh-CN": "顾客"}
    svc.metadata.put_document("entity", "member", member, "test")
    svc.metadata.publish("test", "our name")
    bundle_dir(bundled, tinyshop=fixture_pack("tinyshop-1.1"))
    for locale in LOCALES:
        page.goto(f"/studio/packs?lang={locale}")
        page.click("[data-pack=tinyshop] .crm-preview-upgrade")
        report = page.locator(".pack-report")
        expect(report).to_contain_text("顾客" if locale == "zh-CN" else "Shopper › Label › English")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
            audit(page, f"studio-packs-preview-{locale}-{width}")
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    assert svc.metadata.active_version() == 2  # a preview changes nothing
    page.click(".crm-do-upgrade")
    expect(page.locator(".crm-toasts")).to_contain_text("升级到 1.1.0")
    assert svc.metadata.model().entities["member"].entity.doc["label"]["en"] == "Shopper"
    tour(page, "/studio/packs", "studio-packs-installed")
    page.goto("/studio/packs?lang=en")
    page.click("[data-pack=tinyshop] .crm-pack-remove summary")
    expect(page.locator("[data-pack=tinyshop] .crm-pack-remove")).to_contain_text("records are kept")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-pack=tinyshop] .crm-uninstall")
    expect(page.locator(".crm-toasts")).to_contain_text("Uninstalled tinyshop; its records are kept.")
    assert "member" not in svc.metadata.model().entities
    expect(page.locator("[data-pack=tinyshop]")).to_contain_text("uninstalled (records kept)")
