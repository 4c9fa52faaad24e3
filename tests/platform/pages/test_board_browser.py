"""The board in chromium at 1366 px and 390 px: drag a card to an allowed column (it moves, the counts
follow) and to one a guard refuses (it snaps back, a toast carries the message); both languages, axe-core."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.boardsupport import publish_deals
from tests.platform.pages.browsersupport import (
    Watch,
    audit,
    launched_browser,
    module_app,
    serving,
    sign_in,
    tour,
    watched_page,
)

pytestmark = pytest.mark.browser
PASSWORD = "ann-amber-kettle-42"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """The module's app: deals with a workflow, an administrator."""
    with module_app(tmp_path_factory.mktemp("board")) as app:
        svc: CrmServices = app.extensions["crm"]
        publish_deals(svc)
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        yield app, svc


@pytest.fixture(scope="module")
def base_url(site: tuple[Flask, CrmServices]) -> Iterator[str]:
    with serving(site[0]) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with launched_browser(chromium_path) as launched:
        yield launched


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    with watched_page(browser, base_url) as found:
        sign_in(found[0], "boss", PASSWORD)
        yield found


def drag(page: Page, card: Locator, column: Locator) -> None:
    """Drag with the mouse (SortableJS runs in fallback mode, on mouse events)."""
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + 12)
    page.mouse.down()
    page.mouse.move(box["x"] + 30, box["y"] + 30, steps=4)
    column.scroll_into_view_if_needed()
    target = column.bounding_box()
    assert target is not None
    x, y = target["x"] + target["width"] / 2, target["y"] + min(40, target["height"] / 2)
    page.mouse.move(x, y, steps=12)
    # SortableJS's fallback mode checks the pointer on a timer: let it see the drop target before release.
    page.wait_for_timeout(120)
    page.mouse.move(x + 2, y + 2)
    page.wait_for_timeout(120)
    page.mouse.up()


def column(page: Page, value: str) -> Locator:
    return page.locator(f'.crm-board-cards[data-value="{value}"]')


def count(page: Page, value: str) -> Locator:
    return page.locator(f'.crm-board-col[data-value="{value}"] .crm-board-count')


@pytest.mark.parametrize("width", [1366, 390])
def test_drag_a_card_allowed_and_refused(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices], width: int
) -> None:
    page, watch = admin
    runtime = site[1].runtime()
    rich = runtime.create("deal", {"title": f"Rich {width}", "amount": "1200", "close_on": "2026-12-10"})
    empty = runtime.create("deal", {"title": f"Empty {width}", "amount": "0", "phone": "13812341234"})
    watch.allow(409, "/e/deal/board/move")
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    page.goto("/e/deal/board?lang=en")
    won_before = int(count(page, "won").inner_text())
    card = page.locator(f'.crm-card[data-id="{rich["id"]}"]')
    if width > 500:
        drag(page, card, column(page, "won"))
    else:  # on a phone the card's "move to" menu does what a drag does
        card.locator(".crm-card-move").click()
        card.locator('.crm-move-item[data-to="won"]').click()
    expect(column(page, "won").locator(f'[data-id="{rich["id"]}"]')).to_be_visible()
    expect(count(page, "won")).to_have_text(str(won_before + 1))
    expect(page.locator(".crm-toast").last).to_contain_text("Moved.")
    assert runtime.get("deal", rich["id"])["stage"] == "won"
    refused = page.locator(f'.crm-card[data-id="{empty["id"]}"]')
    if width > 500:
        drag(page, refused, column(page, "won"))
    else:
        refused.locator(".crm-card-move").click()
        refused.locator('.crm-move-item[data-to="won"]').click()
    expect(page.locator(".crm-toast-danger")).to_contain_text("The conditions for this step are not met.")
    expect(column(page, "new").locator(f'[data-id="{empty["id"]}"]')).to_be_visible()
    expect(count(page, "won")).to_have_text(str(won_before + 1))
    assert runtime.get("deal", empty["id"])["stage"] == "new"
    audit(page, f"board-moved-en-{width}")


def test_board_pages_in_both_languages(admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]) -> None:
    page, _ = admin
    for index in range(3):
        site[1].runtime().create(
            "deal", {"title": f"Tour {index}", "amount": str(index * 100), "priority": "high"}
        )
    tour(page, "/e/deal/board", "board")
    tour(page, "/e/deal/board?group=priority", "board-priority")


def test_calendar_drag_to_another_day_and_tour(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    runtime = site[1].runtime()
    deal = runtime.create("deal", {"title": "Site visit", "close_on": "2026-12-08"})
    runtime.create("deal", {"title": "Contract signing", "close_on": "2026-12-08"})
    runtime.create("deal", {"title": "Kick-off", "close_on": "2026-12-16"})
    page.goto("/e/deal/calendar?start=2026-12-01&lang=en")
    entry = page.locator(f'.crm-cal-item[data-id="{deal["id"]}"]')
    drag(page, entry, page.locator('.crm-cal-items[data-day="2026-12-10"]'))
    expect(
        page.locator('.crm-cal-items[data-day="2026-12-10"]').locator(f'[data-id="{deal["id"]}"]')
    ).to_be_visible()
    expect(page.locator(".crm-toast").last).to_contain_text("Moved to 2026-12-10.")
    assert runtime.get("deal", deal["id"])["close_on"] == "2026-12-10"
    tour(page, "/e/deal/calendar?start=2026-12-01", "calendar-month")
    tour(page, "/e/deal/calendar?start=2026-12-01&mode=week", "calendar-week")
