"""Helpers for the browser tests: serve an app on a free port and sign in with Debian chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from playwright.sync_api import Page, sync_playwright
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
