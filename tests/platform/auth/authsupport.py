"""Helpers for sign-in tests: a movable clock, CSRF tokens of pages, signing in through the form."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

PASSWORD = "correct-horse-9"


@dataclass
class FakeClock:
    """A clock that stands still until moved."""

    current: dt.datetime

    def now(self) -> dt.datetime:
        """Return the current fake time."""
        return self.current

    def advance(self, **delta: float) -> None:
        """Move the clock forward by ``timedelta(**delta)``."""
        self.current += dt.timedelta(**delta)


def csrf_of(html: str) -> str:
    """Return the CSRF token embedded in a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def post_form(client: FlaskClient, page: str, url: str, data: dict[str, str]) -> TestResponse:
    """Load ``page`` for its CSRF token, then POST ``data`` to ``url``; never a 500."""
    token = csrf_of(client.get(page).get_data(as_text=True))
    response = client.post(url, data={**data, "csrf_token": token})
    assert response.status_code < 500, response.get_data(as_text=True)
    return response


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    """Post the sign-in form."""
    return post_form(client, "/login", "/login", {"username": username, "password": password})


def client_at(app: Flask, ip: str = "10.0.0.1") -> FlaskClient:
    """Return a test client whose requests come from ``ip``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client
