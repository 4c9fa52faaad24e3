"""Sign-in with sessions (flask-login), API tokens, and CSRF checks on every state-changing request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from crm_platform import contextobjects
from crm_platform.auth import authcache, clock, current, sessions, signin, twofactor
from crm_platform.auth.cookies import TokenAwareSessionInterface, claims_bearer
from crm_platform.auth.model import User
from crm_platform.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problems
from crm_platform.auth.throttle import LockoutPolicy
from crm_platform.auth.users import authenticate, load_session_user, load_user, set_password
from crm_platform.i18n import t
from crm_platform.services import services


class TokenFirstLoginManager(LoginManager):
    """flask-login's manager; a request that claims a bearer token is judged by the token alone.

    Such a request has no session to protect or read (crm_platform.auth.cookies), so flask-login's
    session-protection digest and session lookups are skipped and the token loader runs at once.
    """

    def _load_user(self) -> None:
        req = contextobjects.real_request()
        if claims_bearer(req.environ):
            user = _load_user_from_token(req)
            found = user if user is not None else self.anonymous_user()
            setattr(contextobjects.request_globals(), current.LOGIN_USER, found)
            return
        _SESSION_LOADING(self)

    def _update_remember_cookie(self, response: Response) -> Response:
        # A token request has a session of its own that is never saved (crm_platform.auth.cookies):
        # there is no remember-me cookie to renew or clear.
        if claims_bearer(contextobjects.real_request().environ):
            return response
        return _REMEMBER_COOKIE(self, response)


# flask-login's own loading (sessions, remember cookie), which its type stubs do not list.
_SESSION_LOADING: Callable[[LoginManager], None] = vars(LoginManager)["_load_user"]
_REMEMBER_COOKIE: Callable[[LoginManager, Response], Response] = vars(LoginManager)["_update_remember_cookie"]


login_manager = TokenFirstLoginManager()
csrf = CSRFProtect()
bp = Blueprint("auth", __name__)

PENDING = "auth_pending"  # session key of a sign-in that still needs a code or a new password
PENDING_SECONDS = 300
STEP_CODE = "code"
STEP_NEW_PASSWORD = "new_password"
SESSION_KEY = "sid"  # session key of the server-side session (crm_platform.auth.sessions)


def init_app(app: Flask) -> None:
    """Install sign-in, token authentication and CSRF protection on ``app``."""
    app.session_interface = TokenAwareSessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = ""
    # "strong": a session cookie replayed from another address or browser is dropped.
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    app.before_request(_protect_from_csrf)
    from crm_platform.auth import account  # noqa: F401  (routes register on import)

    app.register_blueprint(bp)


def bearer_token(req: Request | None = None) -> str | None:
    """Return the API token of the request (``req``, else the current one), if it carries one."""
    header = (req or contextobjects.real_request()).headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def sends_bearer() -> bool:
    """Whether the request claims token authentication (``Authorization: Bearer``, even empty or bogus)."""
    return claims_bearer(request.environ)


def client_ip() -> str:
    """Return the client's address (behind a proxy, configure werkzeug's ProxyFix so it is the real one)."""
    return request.remote_addr or "unknown"


def _protect_from_csrf() -> Any:
    # A request that claims a bearer token is judged by the token alone (its cookie is ignored, see
    # _load_user): a token that does not authenticate is a 401 before anything else, so a bogus
    # "Authorization: Bearer x" can neither skip the CSRF check nor ride on a session cookie. A valid
    # token cannot be sent by a foreign page, so only cookie sessions need the CSRF token.
    req = contextobjects.real_request()
    if claims_bearer(req.environ):
        if req.path.startswith("/api/") or current.user().is_authenticated:
            return None  # the API refuses bad tokens itself: 401, counted against the address's limit
        return _token_refused()
    if req.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if req.path.startswith("/api/") and not current_user.is_authenticated:
        return None  # no session to ride on: the API answers 401, which a CSRF 400 would hide
    csrf.protect()
    return None


def _token_refused() -> Any:
    body = {"error": {"code": "unauthorized", "message": t("auth.bad_token")}}
    response = jsonify(body)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response, 401


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    if sends_bearer():
        return None  # a token request never borrows the browser's session
    oldest = clock.now() - current_app.permanent_session_lifetime  # the server's word, not only the cookie's
    return load_session_user(services().engine, session_id, session.get(SESSION_KEY), oldest)


@login_manager.request_loader
def _load_user_from_token(req: Request) -> User | None:
    token = bearer_token(req)
    if not token:
        return None
    app = contextobjects.real_app()
    use = authcache.token_use(app.extensions["crm"].engine, token)
    # The API's checks read the token's scopes and expiry from here (crm_platform.auth.current).
    setattr(contextobjects.request_globals(), current.API_TOKEN, use)
    return use.user if use is not None and not use.expired else None


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if request.path.startswith("/api/"):
        body = {
            "error": {
                "code": "unauthorized",
                "message": "sign in or send an API token (Authorization: Bearer ...)",
            }
        }
        return jsonify(body), 401
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def lockout_policy() -> LockoutPolicy:
    """Return the app's sign-in lockout policy."""
    return LockoutPolicy.from_config(current_app.config)


def lock_message(until: dt.datetime) -> str:
    """Return the 'try again in N minutes' message of a lock ending at ``until``."""
    minutes = max(1, -(-int((until - clock.now()).total_seconds()) // 60))
    return t("auth.locked", minutes=minutes)


def _safe_next(target: str | None) -> str:
    # Only local paths: an absolute URL here would be an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("pages.home")
    return target


def _locked_page(template: str, until: dt.datetime) -> Any:
    return render_template(template, error=lock_message(until)), 429


def _finish(user: User, target: str | None) -> Any:
    session.pop(PENDING, None)
    # Not "permanent": the cookie ends with the browser, and Flask refuses a session signed more than
    # PERMANENT_SESSION_LIFETIME (CRM_SESSION_HOURS) ago. Permanent sessions would also weaken flask-login's
    # "strong" protection to "basic".
    session.permanent = False
    open_session(user)
    signin.succeeded(services().engine, user, client_ip())
    return redirect(_safe_next(target))


def open_session(user: User) -> None:
    """Sign ``user`` in on this browser with a new server-side session."""
    session[SESSION_KEY] = sessions.start(services().engine, user.id, current_app.permanent_session_lifetime)
    login_user(user)


def _next_step(user: User, target: str | None, done: str | None = None) -> Any:
    """Ask for what the user still owes (a code, then a new password), or sign them in."""
    steps = []
    if user.totp_enabled and done is None:
        steps.append(STEP_CODE)
    if user.must_change_password and done != STEP_NEW_PASSWORD:
        steps.append(STEP_NEW_PASSWORD)
    if not steps:
        return _finish(user, target)
    session[PENDING] = {
        "uid": user.id,
        "stamp": user.password_stamp,
        "step": steps[0],
        "at": clock.now().timestamp(),
        "next": target,
    }
    return redirect(url_for("auth.login_code" if steps[0] == STEP_CODE else "auth.login_new_password"))


def _pending_user(step: str) -> User | None:
    """Return the user whose sign-in waits for ``step``, if it is recent and the password unchanged."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("step") != step:
        return None
    if (
        not isinstance(pending.get("at"), int | float)
        or clock.now().timestamp() - pending["at"] > PENDING_SECONDS
    ):
        session.pop(PENDING, None)
        return None
    user = load_user(services().engine, int(pending.get("uid") or 0))
    if user is None or not user.is_active or user.password_stamp != pending.get("stamp"):
        session.pop(PENDING, None)
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the sign-in form and check the user name and password."""
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")[:200]
        attempt = signin.check_password(
            services().engine, username, request.form.get("password", ""), client_ip(), lockout_policy()
        )
        if attempt.locked_until is not None:
            return _locked_page("auth/login.html", attempt.locked_until)
        if attempt.user is not None:
            session.pop(PENDING, None)
            return _next_step(attempt.user, request.args.get("next"))
        error = t("auth.bad_login")
    return render_template("auth/login.html", error=error), 200 if error is None else 401


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    """Ask for the two-factor code after a correct password."""
    user = _pending_user(STEP_CODE)
    if user is None:
        return redirect(url_for("auth.login"))
    engine, ip = services().engine, client_ip()
    error = None
    if request.method == "POST":
        until = signin.current_lock(engine, user.username, ip)
        if until is not None:
            signin.record_attempt(engine, user.username, ip, signin.LOCKED, user.id)
            return _locked_page("auth/code.html", until)
        if twofactor.use_code(engine, user.id, request.form.get("code", ""), clock.now(), enabled=True):
            return _next_step(user, session[PENDING].get("next"), done=STEP_CODE)
        # Wrong codes count like wrong passwords, so six digits cannot be guessed.
        signin.record_failure(engine, user.username, ip, signin.BAD_CODE, lockout_policy())
        error = t("auth.bad_code")
    return render_template("auth/code.html", error=error), 200 if error is None else 401


@bp.route("/login/new-password", methods=["GET", "POST"])
def login_new_password() -> Any:
    """Make a user whose password an administrator reset choose a new one before signing in."""
    user = _pending_user(STEP_NEW_PASSWORD)
    if user is None:
        return redirect(url_for("auth.login"))
    errors: list[str] = []
    if request.method == "POST":
        new, repeat = request.form.get("new_password", ""), request.form.get("confirm_password", "")
        errors = new_password_errors(user.username, new, repeat)
        if not errors and authenticate(services().engine, user.username, new) is not None:
            errors = [t("auth.password_unchanged")]  # the administrator's temporary password must not stay
        if not errors:
            set_password(services().engine, user.username, new)
            refreshed = load_user(services().engine, user.id)
            assert refreshed is not None
            return _finish(refreshed, session[PENDING].get("next"))
    return render_template("auth/new_password.html", errors=errors), 200 if not errors else 422


def new_password_errors(username: str, new: str, repeat: str) -> list[str]:
    """Return the policy's complaints about a new password, translated, plus a mismatch."""
    limits = {"min_length": MIN_PASSWORD_LENGTH, "max_length": MAX_PASSWORD_LENGTH}
    errors = [
        t(f"auth.password_{p.code}", limit=limits.get(p.code, "")) for p in password_problems(new, username)
    ]
    if new != repeat:
        errors.append(t("auth.password_mismatch"))
    return errors


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Sign the user out."""
    if current_user.is_authenticated:
        signin.signed_out(services().engine, current_user, client_ip())
    key = session.pop(SESSION_KEY, None)
    if isinstance(key, str):
        sessions.end(services().engine, key)  # the cookie, even if copied, no longer signs anyone in
    logout_user()
    session.pop(PENDING, None)
    flash(t("auth.signed_out"))
    return redirect(url_for("auth.login"))


__all__ = [
    "bearer_token",
    "bp",
    "client_ip",
    "csrf",
    "current_user",
    "init_app",
    "login_manager",
    "open_session",
    "sends_bearer",
]
