"""The request's user and API token, read without flask-login's proxy look-ups.

flask-login's ``current_user`` is a proxy that reads ``g`` through two more proxies on every use
(crm_platform.contextobjects says what a proxy costs). flask-login keeps the loaded user among the
request's globals; ``user()`` reads it from there and lets flask-login load it on first use.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from crm_platform.contextobjects import request_globals

# Where flask-login keeps the loaded user among the request's globals (flask_login.utils._get_user).
LOGIN_USER = "_login_user"
# Where the token loader keeps the request's API token use (crm_platform.auth.session).
API_TOKEN = "api_token"


def user() -> Any:
    """Return the request's user (flask-login's ``current_user``), which flask-login loads on first use."""
    found = getattr(request_globals(), LOGIN_USER, None)
    return found if found is not None else current_user._get_current_object()


def api_token() -> Any:
    """Return the request's API token use (``TokenUse``) once the user is loaded; None without a token."""
    return getattr(request_globals(), API_TOKEN, None)
