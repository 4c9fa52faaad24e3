"""The import page of an entity: upload → map → dry run → run with progress → result, driven by the import API."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, url_for
from flask_login import current_user, login_required

from crm_platform.i18n import current_locale, t
from crm_platform.pages.views import _entity, _may, bp
from metamodel.imports.files import CHOSEN

# Keys the page's script shows (statuses, counters, messages), handed to it in both languages' wording.
SCRIPT_KEYS = (
    "imp.created",
    "imp.updated",
    "imp.skipped",
    "imp.failed",
    "imp.unmapped",
    "imp.rows_per_second",
    "imp.seconds_left",
    "imp.no_errors",
    "imp.error_prefix",
    "imp.status.queued",
    "imp.status.running",
    "imp.status.done",
    "imp.status.failed",
    "imp.status.undone",
    "imp.status.draft",
    "imp.status.checking",
    "imp.status.checked",
    "imp.checked_rows",
    "imp.rows",
    "imp.undo_done",
    "imp.undo_changed",
    "imp.more_errors",
)


@bp.route("/e/<entity>/import")
@login_required
def record_import(entity: str) -> Any:
    """The import assistant of ``entity`` (needs the import permission)."""
    model = _entity(entity)
    if not _may(entity, "import"):
        abort(403, description=t("imp.refused"))
    api = url_for("api.imports_upload", entity=entity)
    return render_template(
        "pages/import.html",
        model=model,
        label=model.entity.label(current_locale()),
        api=api,
        encodings=sorted(CHOSEN),
        is_admin=bool(current_user.is_admin),
        words={key: t(key) for key in SCRIPT_KEYS},
    )
