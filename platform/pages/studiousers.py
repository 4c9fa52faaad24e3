"""The studio's users pages: the list with search, create (org unit, roles, time-limited grants), change
roles and unit, deactivate or reactivate, reset the password.

Every write goes through UserAdmin, the service behind /api/v1/users. Administrators only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from crm_platform.api.users import user_admin
from crm_platform.i18n import t
from crm_platform.pages.studioaccess import access_admin
from crm_platform.pages.studioadmin import admin_page, error_view, label_of, render
from crm_platform.timezones import user_zone
from form_renderer.presentation.moments import read_input
from metamodel.errors import CrmError, NotFound

bp = Blueprint("users", __name__)
PAGE = 50


def unit_choices() -> list[tuple[int, str]]:
    """Return (id, "HQ / East / Store 1") for every org unit, in tree order."""
    units = access_admin().units()
    by_id = {u["id"]: u for u in units}

    def path(unit: dict[str, Any]) -> list[str]:
        trail, seen = [], set()
        while unit is not None and unit["id"] not in seen:
            seen.add(unit["id"])
            trail.append(label_of(unit, unit["name"]))
            unit = by_id.get(unit["parent_id"])  # type: ignore[assignment]
        return trail[::-1]

    rows = [(int(u["id"]), " / ".join(path(u))) for u in units]
    return sorted(rows, key=lambda r: r[1].lower())


def role_choices() -> list[tuple[str, str]]:
    """Return (name, label) of every role."""
    return [(r["name"], label_of(r, r["name"])) for r in access_admin().roles()]


def grants_of(form: MultiDict[str, str]) -> list[dict[str, Any]]:
    """Return the role grants a form asks for: each ticked role, until its expiry when one is given."""
    zone = user_zone()  # the expiry is typed in her zone, like every datetime input
    return [
        {"role": name, "expires_at": read_input(form.get(f"exp.{name}") or "", zone) or None}
        for name in form.getlist("role")
    ]


def _list_page(status: int = 200, **extra: Any) -> Any:
    query = (request.args.get("q") or "")[:80]
    start = request.args.get("offset", "0")
    offset = int(start) if start.isdigit() and len(start) < 9 else 0
    found = user_admin().page(query, limit=PAGE, offset=offset)
    return render(
        "studio/access_users.html",
        status,
        users=found["items"],
        total=found["total"],
        offset=offset,
        page=PAGE,
        q=query,
        units=dict(unit_choices()),
        unit_list=unit_choices(),
        role_list=role_choices(),
        role_labels=dict(role_choices()),
        section="users",
        **extra,
    )


@bp.get("/access/users")
@admin_page
def users() -> Any:
    """The users (search by name) and the new-user form."""
    return _list_page()


@bp.post("/access/users")
@admin_page
def create_user() -> Any:
    """Create a user in an org unit with roles (the password must pass the strength rule)."""
    form = request.form
    body = {
        "username": (form.get("username") or "").strip(),
        "display_name": (form.get("display_name") or "").strip(),
        "password": form.get("password") or "",
        "locale": form.get("locale") or "en",
        "unit_id": form.get("unit_id") or None,
        "roles": grants_of(form),
    }
    try:
        made = user_admin().create(body)
    except CrmError as exc:
        return _list_page(exc.status, error=error_view(exc), form=form)
    flash(t("users.created", name=made["username"]))
    return redirect(url_for("studio.users.user", user_id=made["id"]))


def _user_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(t("users.err.no_user"))
    return int(raw)


def _user_page(user_id: int, status: int = 200, **extra: Any) -> Any:
    found = user_admin().get(user_id)
    return render(
        "studio/access_user.html",
        status,
        user=found,
        held={g["role"]: g["expires_at"] for g in found["roles"]},
        unit_list=unit_choices(),
        role_list=role_choices(),
        section="users",
        **extra,
    )


@bp.get("/access/users/<user_id>")
@admin_page
def user(user_id: str) -> Any:
    """One user: display name, org unit, roles with expiry, status and password reset."""
    return _user_page(_user_id(user_id))


@bp.post("/access/users/<user_id>")
@admin_page
def update_user(user_id: str) -> Any:
    """Save a user's display name, org unit and role grants."""
    number, form = _user_id(user_id), request.form
    body = {
        "display_name": form.get("display_name") or "",
        "unit_id": form.get("unit_id") or None,
        "roles": grants_of(form),
    }
    try:
        user_admin().update(number, body)
    except CrmError as exc:
        return _user_page(number, exc.status, error=error_view(exc))
    flash(t("users.saved"))
    return redirect(url_for("studio.users.user", user_id=number))


@bp.post("/access/users/<user_id>/active")
@admin_page
def set_active(user_id: str) -> Any:
    """Deactivate (sessions and tokens end at once) or reactivate a user."""
    number = _user_id(user_id)
    active = request.form.get("active") == "1"
    user_admin().set_active(number, active)
    flash(t("users.activated") if active else t("users.deactivated"))
    return redirect(url_for("studio.users.user", user_id=number))


@bp.post("/access/users/<user_id>/password")
@admin_page
def reset_password(user_id: str) -> Any:
    """Set a new password she must change at her next sign-in."""
    number = _user_id(user_id)
    try:
        user_admin().reset_password(number, request.form.get("password") or "")
    except CrmError as exc:
        return _user_page(number, exc.status, error=error_view(exc), password_error=True)
    flash(t("users.password_reset"))
    return redirect(url_for("studio.users.user", user_id=number))
