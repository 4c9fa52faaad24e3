"""Helpers for the browser tests: serve an app, drive Debian chromium, fail on console errors, unexpected
4xx/5xx answers and serious axe-core violations, and keep screenshots under build/screenshots/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright
from werkzeug.serving import make_server

# Without the background-networking flags chromium keeps trying hosts this machine cannot reach.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free local port for the block; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextmanager
def signed_in_page(chromium_path: str, base_url: str, username: str, password: str) -> Iterator[Page]:
    """Open a browser page at ``base_url`` signed in as ``username``."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=ARGS)
        tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        tab.goto(f"{base_url}/login")
        tab.fill("input[name=username]", username)
        tab.fill("input[name=password]", password)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{base_url}/")
        try:
            yield tab
        finally:
            browser.close()


# --- one served app per test module, guarded pages, axe-core and screenshots ---------------------------

SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "screenshots"
WIDTHS = (1366, 390)
LOCALES = ("en", "zh-CN")
SERIOUS = frozenset({"serious", "critical"})


@contextmanager
def module_app(folder: Path) -> Iterator[Flask]:
    """Build an app on a brand-new database (the run's CRM_TEST_DATABASE) for a whole test module."""
    from crm_platform.app import create_app
    from tests.conftest import _db_kind, fresh_database
    from tests.platform.encryptionsupport import TEST_ENCRYPTION

    with fresh_database(_db_kind(), folder) as url, pytest.MonkeyPatch.context() as patch:
        env = {
            "CRM_DATABASE_URL": url,
            "CRM_INSTANCE_DIR": str(folder / "instance"),
            "CRM_SECRET_KEY": "test-secret",
            "CRM_SCHEDULER": "off",
            **TEST_ENCRYPTION,
        }
        for key, value in env.items():
            patch.setenv(key, value)
        patch.delenv("CRM_DEMO_PASSWORD", raising=False)
        app = create_app()
        try:
            yield app
        finally:
            app.extensions["crm"].engine.dispose()


# The administrator of published_site: signed in with signed_in(browser, base_url, BOSS, BOSS_PASSWORD).
BOSS, BOSS_PASSWORD = "boss", "Tq8#vLm2-Rainforest"


@contextmanager
def published_site(folder: Path) -> Iterator[tuple[Flask, Any]]:
    """A module's app with the page tests' entities published and an administrator (Zhang Wei)."""
    import copy

    from crm_platform.auth.users import create_user
    from tests.platform.pages.conftest import ENTITIES

    with module_app(folder) as app:
        svc = app.extensions["crm"]
        for name, doc in ENTITIES.items():
            svc.metadata.put_document("entity", name, copy.deepcopy(doc), "test")
        svc.metadata.publish("test", "customers")
        create_user(svc.engine, BOSS, BOSS_PASSWORD, display_name="Zhang Wei", is_admin=True)
        yield app, svc


@contextmanager
def launched_browser(chromium_path: str) -> Iterator[Browser]:
    """Launch Debian chromium once (for a module)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """Collects what must fail a browser test: console errors, page errors and unexpected 4xx/5xx answers."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        self.allowed: set[tuple[int, str]] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self._response)

    def allow(self, status: int, path: str) -> None:
        """Expect ``status`` from ``path`` (e.g. the 403 page a test visits on purpose)."""
        self.allowed.add((status, path))

    def _expected(self, url: str, status: int | None = None) -> bool:
        path = urlsplit(url).path
        return any(p == path and (status is None or s == status) for s, p in self.allowed)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium logs every 4xx/5xx document as a console error; those the test expects are fine.
        if "Failed to load resource" in message.text and self._expected(message.location.get("url", "")):
            return
        self.problems.append(f"console error: {message.text} at {message.location.get('url')}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not self._expected(response.url, response.status):
            self.problems.append(
                f"unexpected {response.status} from {response.request.method} {response.url}"
            )

    def check(self) -> None:
        """Fail the test on anything collected."""
        assert not self.problems, "\n".join(self.problems)


@contextmanager
def watched_page(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """Open a fresh browser context (no cookies) and page; fails at the end on anything the Watch saw."""
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, base_url=base_url)
    page = context.new_page()
    watch = Watch(page)
    try:
        yield page, watch
        watch.check()
    finally:
        context.close()


def sign_in(page: Page, username: str, password: str, *, lands_on: str = "/") -> None:
    """Sign in through the sign-in page."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**{lands_on}")


def settle(page: Page) -> None:
    """Wait for the page's finite CSS transitions and animations to end (a card fading back from its
    busy look is judged by axe at its final colours, not halfway)."""
    page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
            .map((a) => a.finished.catch(() => null)))"""
    )


def audit(page: Page, name: str) -> None:
    """Check the page as shown: axe-core (no serious or critical violation), no horizontal scrolling,
    a screenshot under build/screenshots/."""
    settle(page)
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    summary = "; ".join(f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:4]}" for v in bad)
    assert not bad, f"{name}: axe violations: {summary}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: scrolls {overflow}px sideways"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def tour(page: Page, path: str, name: str, *, status: int = 200, watch: Watch | None = None) -> None:
    """Visit ``path`` in both languages at both widths, auditing each view."""
    if watch is not None and status >= 400:
        watch.allow(status, urlsplit(path).path)
    for locale in LOCALES:
        joiner = "&" if "?" in path else "?"
        response = page.goto(f"{path}{joiner}lang={locale}")
        assert response is not None and response.status == status, f"{path}: {response and response.status}"
        assert page.get_attribute("html", "lang") == locale
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
            audit(page, f"{name}-{locale}-{width}")
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def drag(page: Page, source: str, target: str, *, landed: str) -> None:
    """Drag with the mouse, in steps, as a person does (SortableJS follows the pointer); release once the
    dragged item sits where `landed` finds it (under load SortableJS may still be catching up)."""
    # Mouse coordinates are the viewport's: bring the item on screen first (a long page may hide it).
    page.locator(source).scroll_into_view_if_needed()
    start = page.locator(source).bounding_box()
    end = page.locator(target).bounding_box()
    assert start and end
    page.mouse.move(start["x"] + 5, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + 20, start["y"] + 20, steps=5)
    # Where the target is once the drag has begun (a page may open drop zones when it starts).
    end = page.locator(target).bounding_box() or end
    x, y = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    page.mouse.move(x, y, steps=20)
    # Hover a moment over the target chip, as a hand does, so SortableJS settles there.
    for dy in (-3, 3, 0, -3, 3, 0, -3, 3, 0, -3, 3, 0):
        page.wait_for_timeout(60)
        page.mouse.move(x, y + dy, steps=2)
        if page.locator(landed).count():
            break
    else:
        # Not there yet (a slow machine, or the placeholder moved the target): aim again at other heights
        # of the target, as a hand corrects itself, until the item sits where it should.
        # A nested list the item fell into keeps it while the pointer stays over that list's owner, so
        # each new approach starts from where the item came from.
        for fraction in (0.5, 0.35, 0.65, 0.2, 0.8, 0.45, 0.55, 0.3, 0.7, 0.25):
            page.mouse.move(start["x"] + 20, start["y"] + start["height"] / 2, steps=6)
            page.wait_for_timeout(150)
            box = page.locator(target).bounding_box()
            if box is None:
                break
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * fraction, steps=10)
            page.wait_for_timeout(200)
            if page.locator(landed).count():
                break
    page.mouse.up()


@contextmanager
def signed_in(browser: Browser, base_url: str, username: str, password: str) -> Iterator[tuple[Page, Watch]]:
    """A watched page (see watched_page) signed in as ``username`` through the sign-in page."""
    with watched_page(browser, base_url) as found:
        sign_in(found[0], username, password)
        yield found
