"""Sign-in with sessions (flask-login), API tokens, and CSRF checks on every state-changing request."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from crm_platform.auth.users import User, authenticate, load_user, user_for_token
from crm_platform.i18n import t
from crm_platform.services import services

login_manager = LoginManager()
csrf = CSRFProtect()
bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    """Install sign-in, token authentication and CSRF protection on ``app``."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = ""
    csrf.init_app(app)
    app.before_request(_protect_from_csrf)
    app.register_blueprint(bp)


def bearer_token() -> str | None:
    """Return the API token of the request, if it carries one."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def _protect_from_csrf() -> None:
    # A bearer token cannot be sent by a foreign page, so only cookie sessions need the CSRF token.
    if request.method in ("GET", "HEAD", "OPTIONS") or bearer_token() is not None:
        return
    csrf.protect()


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        return load_user(services().engine, int(user_id))
    except ValueError:
        return None


@login_manager.request_loader
def _load_user_from_token(_request: Any) -> User | None:
    token = bearer_token()
    return user_for_token(services().engine, token) if token else None


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if request.path.startswith("/api/"):
        body = {"error": {"code": "unauthorized", "message": "sign in or send an API token (Authorization: Bearer ...)"}}
        return jsonify(body), 401
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the sign-in form and sign the user in."""
    error = None
    if request.method == "POST":
        user = authenticate(services().engine, request.form.get("username", ""), request.form.get("password", ""))
        if user is not None:
            login_user(user)
            target = request.args.get("next") or ""
            # Only local paths: an absolute URL here would be an open redirect.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("pages.home")
            return redirect(target)
        error = t("auth.bad_login")
    return render_template("auth/login.html", error=error), 200 if error is None else 401


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Sign the user out."""
    logout_user()
    flash(t("auth.signed_out"))
    return redirect(url_for("auth.login"))


__all__ = ["bearer_token", "bp", "csrf", "current_user", "init_app", "login_manager"]
