"""Lead-pool buttons of the record pages: claim a record from the pool, release it back."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from crm_platform.api.pool import localised
from crm_platform.i18n import t
from crm_platform.pages.views import bp
from crm_platform.services import services
from metamodel.errors import CrmError, NotFound
from metamodel.pool.config import pool_config
from metamodel.pool.errors import PoolError
from metamodel.pool.service import LeadPool


def _act(entity: str, record_id: int, operation: str) -> Any:
    runtime = services().runtime()
    model = runtime.model.entities.get(entity)
    if model is None or model.entity.is_child or pool_config(model.entity) is None:
        abort(404, description=f"entity '{entity}' has no pool")
    try:
        getattr(LeadPool(runtime), operation)(entity, record_id, current_user.actor())
    except NotFound:
        raise
    except PoolError as exc:
        flash(localised(exc).message, "error")
    except CrmError as exc:
        flash(exc.message, "error")
    else:
        flash(t("pool.claimed" if operation == "claim" else "pool.released"))
    if request.form.get("next") == "list":
        return redirect(url_for("pages.record_list", entity=entity))
    return redirect(url_for("pages.record_detail", entity=entity, record_id=record_id))


@bp.route("/e/<entity>/<int:record_id>/claim", methods=["POST"])
@login_required
def record_claim(entity: str, record_id: int) -> Any:
    """Claim a record from the pool (the detail or list page's button)."""
    return _act(entity, record_id, "claim")


@bp.route("/e/<entity>/<int:record_id>/release", methods=["POST"])
@login_required
def record_release(entity: str, record_id: int) -> Any:
    """Release a record back to the pool."""
    return _act(entity, record_id, "release")
