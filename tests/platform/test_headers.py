"""Security headers on every response (issue 14, safety 5): CSP strict on sources, nosniff, no framing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string

from tests.platform.auth.conftest import make_app


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    built = make_app(db_url, tmp_path)
    yield built
    built.extensions["crm"].engine.dispose()


def directives(policy: str) -> dict[str, list[str]]:
    """Split a Content-Security-Policy into {directive: sources}."""
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def test_every_kind_of_response_carries_the_headers(app: Flask) -> None:
    client = app.test_client()
    for path in ("/login", "/api/v1/openapi.json", "/api/v1/meta/entities", "/static/crm.css", "/nowhere"):
        response = client.get(path)
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "same-origin", path
        policy = directives(headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"], path
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
        assert policy["form-action"] == ["'self'"] and policy["base-uri"] == ["'self'"]
        assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be ignored anyway


def test_no_source_outside_the_site_is_allowed(app: Flask) -> None:
    policy = directives(app.test_client().get("/login").headers["Content-Security-Policy"])
    for sources in policy.values():
        for source in sources:
            assert source.startswith("'") or source in ("data:", "blob:"), source
    assert "'unsafe-eval'" in policy["script-src"]  # Alpine's standard build (see crm_platform.headers)


def test_strict_scripts_use_the_nonce_of_the_request(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path, CRM_CSP_STRICT_SCRIPTS=True)
    client = app.test_client()
    seen = set()
    for _ in range(2):
        script_src = directives(client.get("/login").headers["Content-Security-Policy"])["script-src"]
        assert "'unsafe-inline'" not in script_src
        nonces = [s for s in script_src if s.startswith("'nonce-")]
        assert len(nonces) == 1
        seen.add(nonces[0])
    assert len(seen) == 2  # a fresh nonce per response
    with app.test_request_context("/"):
        html = render_template_string('<script nonce="{{ csp_nonce() }}"></script>{{ csp_nonce() }}')
        response = app.process_response(app.make_response(html))
        nonce = html.split('"')[1]
        assert html.endswith(nonce) and f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]
    app.extensions["crm"].engine.dispose()


def test_https_responses_ask_for_hsts(app: Flask) -> None:
    response = app.test_client().get("/login", base_url="https://crm.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
