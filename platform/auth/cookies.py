"""The signed session cookie, ignored by token requests and opened without work when there is none.

Flask's cookie session builds a signing serializer on every request, even one without a cookie, and
reads the cookie of a request that authenticates with a bearer token. Here a request that claims a
bearer token gets an empty session that is never saved (a token never combines with a browser
session, and answering it never sets a cookie), a request without a cookie gets an empty session at
once, and the serializer is built once per set of keys.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer

# The WSGI environ key under which the request's Authorization header arrives.
_AUTHORIZATION = "HTTP_AUTHORIZATION"


def claims_bearer(environ: dict[str, Any]) -> bool:
    """Whether a request's Authorization header names the Bearer scheme (even with an empty or bogus token)."""
    header = environ.get(_AUTHORIZATION)
    return bool(header) and str(header).strip().lower().partition(" ")[0] == "bearer"


class TokenRequestSession(SecureCookieSession):
    """The session of a request that claims a bearer token: empty, and never saved."""


class TokenAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, skipped for bearer-token requests (see the module docstring)."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Return the serializer of the app's current keys, built on first use."""
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        found = self._serializers.get(keys)
        if found is None:
            found = super().get_signing_serializer(app)
            assert found is not None  # the app has a secret key
            self._serializers = {keys: found}  # keys change rarely: keep only the current ones
        return found

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Return an empty session for token requests and cookie-less ones, else the cookie's."""
        if not app.secret_key:
            return None
        if claims_bearer(request.environ):
            return TokenRequestSession()
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Save as Flask does, except that a token request never sets or clears the cookie."""
        if isinstance(session, TokenRequestSession):
            return
        if not session and not session.modified and not session.accessed:
            return  # nothing read, nothing to write: no cookie and no Vary
        super().save_session(app, session, response)
