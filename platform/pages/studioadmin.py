"""What the studio's administration pages share: admins-only guard, rendering, entity labels, and errors
said in the reader's language (the services' problems carry codes; the code picks the translation)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import render_template
from flask_login import current_user, login_required

from crm_platform.api.common import Forbidden
from crm_platform.i18n import current_locale, t
from crm_platform.services import services
from metamodel.errors import CrmError, Problem

F = TypeVar("F", bound=Callable[..., Any])


def admin_page(view: F) -> F:
    """Sign-in required, and 403 for anyone but an administrator (like the access and users APIs)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_admin", False):
            raise Forbidden("only administrators may manage access, users and operations")
        return view(*args, **kwargs)

    return cast(F, login_required(wrapper))


def render(template: str, status: int = 200, **extra: Any) -> Any:
    """Render an administration page of the studio."""
    return render_template(template, locale=current_locale(), **extra), status


def label_of(doc: dict[str, Any] | Any, fallback: str) -> str:
    """Return the label of a metadata document or field in the reader's language."""
    labels = (doc.get("label") if hasattr(doc, "get") else None) or {}
    return str(labels.get(current_locale()) or labels.get("en") or fallback)


def entity_choices() -> list[tuple[str, str]]:
    """Return (name, label) of the published entities that hold records of their own, by label."""
    model = services().metadata.model()
    rows = [
        (name, label_of(e.entity.doc, name))
        for name, e in model.entities.items()
        if not e.entity.doc.get("is_child")
    ]
    return sorted(rows, key=lambda r: r[1].lower())


def problem_text(problem: Problem) -> str:
    """Say one problem in the reader's language when its code has a translation, else as the service said."""
    key = f"admin.problem.{problem.code}"
    said = t(key)
    return said if said != key else problem.message


def error_view(exc: CrmError) -> dict[str, Any]:
    """Return what the pages show for a refused change: a translated headline and each problem."""
    key = f"admin.error.{exc.code}"
    headline = t(key) if t(key) != key else exc.message
    return {"message": headline, "problems": [(_place(p.path), problem_text(p)) for p in exc.problems]}


def _place(path: str) -> str:
    key = f"admin.field.{path}"
    said = t(key)
    return said if said != key else path
