"""The studio's draft, publish and history pages: pending changes in plain words, validate, publish with a
comment, discard, the version history with a diff between any two versions, and rollback after a preview.

Every write goes through the metadata service the API uses (publish, rollback, discard_draft).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import login_required

from crm_platform.api.common import configure_required, username
from crm_platform.api.datafindings import localised_refusal
from crm_platform.i18n import t
from crm_platform.pages.helpers import moment_text
from crm_platform.pages.studio import active_bundle, studio_page
from crm_platform.pages.studiofieldedit import option_map, option_mappings
from crm_platform.pages.studiowords import describe_all, problem_place
from crm_platform.services import services
from metamodel.definitions import Bundle
from metamodel.diff import diff_bundles
from metamodel.errors import CrmError, NotFound, SchemaChangeRefused
from metamodel.versions import VersionInfo

# Nested under the studio blueprint at start-up, so endpoints read "studio.versions.<view>".
bp = Blueprint("versions", __name__)


def _pending() -> list[dict[str, Any]]:
    before, after = active_bundle(), services().metadata.draft()
    return describe_all(diff_bundles(before, after), before, after)


def _review(status: int = 200, **extra: Any) -> Any:
    # Removed select options still in use: the publish form asks where their records go.
    return studio_page(
        "studio/review.html", status, described=_pending(), mappings=option_mappings(), **extra
    )


@bp.get("/review")
@login_required
@configure_required
def review() -> Any:
    """The pending changes in plain words, validate, publish and discard."""
    return _review()


@bp.post("/validate")
@login_required
@configure_required
def validate() -> Any:
    """Check the whole draft; every problem is linked to the page that fixes it."""
    draft = services().metadata.draft()
    problems = [problem_place(p, draft) for p in services().metadata.validate_draft()]
    return _review(validated=True, problems=problems)


@bp.post("/publish")
@login_required
@configure_required
def publish() -> Any:
    """Validate and publish the draft, with a comment."""
    comment = (request.form.get("comment") or "").strip()[:500]
    try:
        info = services().metadata.publish(username(), comment, option_map(request.form) or None)
    except CrmError as exc:
        if isinstance(exc, SchemaChangeRefused):
            exc = localised_refusal(exc)
        draft = services().metadata.draft()
        problems = [problem_place(p, draft) for p in exc.problems]
        return _review(422, error=exc, validated=bool(problems), problems=problems)
    flash(t("studio.published", version=info.number))
    return redirect(url_for("studio.versions.history"))


@bp.post("/discard")
@login_required
@configure_required
def discard() -> Any:
    """Throw the draft's changes away (back to the active version)."""
    services().metadata.discard_draft()
    flash(t("studio.discarded"))
    return redirect(url_for("studio.versions.review"))


def _version_rows(versions: list[VersionInfo], active: int | None) -> list[dict[str, Any]]:
    return [
        {
            "number": v.number,
            "when": moment_text(v.created_at),
            "by": v.created_by or "—",
            "comment": v.comment,
            "action": v.action,
            "source": v.source_version,
            "active": v.number == active,
        }
        for v in versions
    ]


def _number(raw: str | None, numbers: list[int], default: int | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return default
    return value if value in numbers else default


@bp.get("/history")
@login_required
@configure_required
def history() -> Any:
    """Every published version; a readable diff between any two (?a=&b=, the latest two by default)."""
    metadata = services().metadata
    versions = metadata.versions()
    numbers = [v.number for v in versions]
    b = _number(request.args.get("b"), numbers, numbers[0] if numbers else None)
    raw_a = request.args.get("a")
    # "a=" (the empty choice) compares with nothing: what version b holds in all.
    a = None if raw_a == "" else _number(raw_a, numbers, numbers[1] if len(numbers) > 1 else None)
    diff: list[dict[str, Any]] = []
    if b is not None:
        before = metadata.bundle_of(a) if a is not None else Bundle()
        after = metadata.bundle_of(b)
        diff = describe_all(diff_bundles(before, after), before, after)
    rows = _version_rows(versions, metadata.active_version())
    return studio_page("studio/history.html", versions=rows, a=a, b=b, diff=diff)


def _rollback_target(number: int) -> Bundle:
    if number not in [v.number for v in services().metadata.versions()]:
        raise NotFound(t("studio.err.no_version", number=number))
    return services().metadata.bundle_of(number)


@bp.get("/history/<int:number>/rollback")
@login_required
@configure_required
def rollback_preview(number: int) -> Any:
    """What rolling back to ``number`` will change, before the confirm button."""
    target = _rollback_target(number)
    current = active_bundle()
    changes = describe_all(diff_bundles(current, target), current, target)
    removed = [c for c in changes if c["change"] in ("removed", "field_removed")]
    return studio_page(
        "studio/rollback.html",
        number=number,
        rollback=changes,
        removed=removed,
        draft_pending=bool(_pending()),
    )


@bp.post("/history/<int:number>/rollback")
@login_required
@configure_required
def rollback(number: int) -> Any:
    """Publish version ``number``'s metadata again as a new version (records are kept)."""
    _rollback_target(number)
    comment = (request.form.get("comment") or "").strip()[:500] or t("studio.rollback_comment", number=number)
    info = services().metadata.rollback(number, username(), comment)
    flash(t("studio.rolled_back", number=number, version=info.number))
    return redirect(url_for("studio.versions.history"))
