"""Lead-pool endpoints: claim a record from the pool, release it back."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from crm_platform.api import bp
from crm_platform.api.common import actor, path_id
from crm_platform.api.records import entity_model
from crm_platform.i18n import current_locale, t
from crm_platform.services import services
from metamodel.pool.errors import PoolError
from metamodel.pool.service import LeadPool


def localised(error: PoolError) -> PoolError:
    """Return the error with its message in the request's locale, naming the entity by its label there."""
    values = dict(error.values)
    model = services().metadata.model().entities.get(str(values.get("entity")))
    if model is not None:
        values["entity"] = model.entity.label(current_locale())
    text = t(error.key, **values)
    if text != error.key:
        error.message = text
    return error


def _answer(operation: str, entity: str, raw_id: str) -> Response:
    runtime = services().runtime()
    entity_model(runtime, entity)
    pool = LeadPool(runtime)
    try:
        record = getattr(pool, operation)(entity, path_id(raw_id), actor())
    except PoolError as error:
        raise localised(error) from None
    response = jsonify(record)
    response.headers["ETag"] = f'"{record["lock_version"]}"'
    return response


@bp.post("/records/<entity>/<record_id>/claim")
def pool_claim(entity: str, record_id: str) -> Any:
    """Make the caller the owner of a record in the pool (409 when someone was faster or over the limit)."""
    return _answer("claim", entity, record_id)


@bp.post("/records/<entity>/<record_id>/release")
def pool_release(entity: str, record_id: str) -> Any:
    """Put a record back into the pool (its owner, or whoever may update it)."""
    return _answer("release", entity, record_id)
