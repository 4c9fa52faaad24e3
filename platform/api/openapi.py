"""OpenAPI 3.0.3 document, built by apispec from the registered /api/v1 routes and the published metadata."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify

from crm_platform.api import bp
from crm_platform.api.entitypaths import entity_filters, specialise
from crm_platform.api.entityspec import EntityView, entity_schemas, record_schemas
from crm_platform.api.metaview import entity_view
from crm_platform.api.schemas import ENDPOINTS, STATIC_SCHEMAS
from crm_platform.services import services

PREFIX = "/api/v1"
_IGNORED_METHODS = {"HEAD", "OPTIONS"}
_ERROR_STATUSES = {
    "400": "malformed request (bad JSON, wrong content type, bad query)",
    "401": "not signed in",
    "404": "not found",
    "429": "too many requests (Retry-After says when to try again)",
}


def api_rules() -> dict[str, set[str]]:
    """Return the OpenAPI path and methods of every /api/v1 route (the routes are the source of truth)."""
    found: dict[str, set[str]] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found.setdefault(path, set()).update(m.lower() for m in (rule.methods or set()) - _IGNORED_METHODS)
    return found


def _endpoint_of(path: str, method: str) -> str:
    adapter = current_app.url_map.bind("localhost")
    concrete = re.sub(r"{([^}]+)}", lambda m: "x" if m.group(1) == "entity" else "1", path)
    endpoint, _ = adapter.match(concrete, method=method.upper())
    return str(endpoint).removeprefix("api.")


def _path_parameters(path: str) -> list[dict[str, Any]]:
    params = []
    for name in re.findall(r"{([^}]+)}", path):
        schema: dict[str, Any] = {"type": "string"}
        if name.endswith("_id") or name == "number":
            schema = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def build_document(view: EntityView) -> dict[str, Any]:
    """Return the OpenAPI document of this app's API as a caller with ``view`` may see it."""
    model = services().runtime().model
    spec = APISpec(
        title="Low-code CRM API",
        version=f"1.{model.version}",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": _DESCRIPTION.format(version=model.version)},
        servers=[{"url": "/"}],
        security=[{"bearerAuth": []}, {"cookieAuth": []}],
    )
    schemas: dict[str, Any] = dict(STATIC_SCHEMAS)
    schemas.update(entity_schemas(model, view))
    schemas.update(record_schemas(model, view))
    for name, schema in schemas.items():
        spec.components.schema(name, schema)
    spec.components.response("Error", _ERROR_RESPONSE)
    for name, scheme in _security_schemes().items():
        spec.components.security_scheme(name, scheme)
    entities = [m for m in model.entities.values() if not m.entity.is_child and view.shows(m.entity.name)]
    filters = {m.entity.name: entity_filters(model, m, view) for m in entities}
    for path, methods in sorted(api_rules().items()):
        operations = {}
        for method in sorted(methods):
            endpoint = _endpoint_of(path, method)
            described = ENDPOINTS.get(endpoint, {"summary": endpoint})
            operations[method] = (_operation(endpoint, described, _path_parameters(path)), described)
        if "{entity}" not in path or not entities:
            spec.path(path=path, operations={m: op for m, (op, _) in operations.items()})
            continue
        # A reader gets each entity's own paths: its fields, filters and sort keys (see entitypaths).
        for entity in entities:
            name = entity.entity.name
            own = {
                m: specialise(op, entity, filters[name] if described.get("filters") else None, view)
                for m, (op, described) in operations.items()
            }
            if any(own.values()):
                spec.path(path=path.replace("{entity}", name), operations={m: o for m, o in own.items() if o})
    return spec.to_dict()


_DESCRIPTION = (
    "Records and metadata of this site; record schemas follow the published metadata version {version} "
    "and list only the entities and fields the caller may read (none without sign-in). "
    'Errors are JSON {{"error": {{code, message, details}}}}.'
)
_ERROR_RESPONSE = {
    "description": "an error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _security_schemes() -> dict[str, dict[str, Any]]:
    return {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "an API token from POST /api/v1/tokens or `crm token`",
        },
        "cookieAuth": {
            "type": "apiKey",
            "in": "cookie",
            "name": current_app.config.get("SESSION_COOKIE_NAME", "session"),
            "description": "a signed-in browser session; state-changing requests must also send X-CSRFToken",
        },
    }


def _operation(endpoint: str, spec: dict[str, Any], path_params: list[dict[str, Any]]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint,
        "summary": spec["summary"],
        "tags": [endpoint.split("_")[0]],
    }
    params = path_params + list(spec.get("query", []))
    if params:
        operation["parameters"] = params
    if "request" in spec:
        content_type = spec.get("request_type", "application/json")
        operation["requestBody"] = {
            "required": spec.get("request_required", True),
            "content": {content_type: {"schema": spec["request"]}},
        }
    responses: dict[str, Any] = {}
    for status, (description, schema, media) in spec.get("responses", {}).items():
        response: dict[str, Any] = {"description": description}
        if schema is not None:
            response["content"] = {media: {"schema": schema}}
        responses[status] = response
    statuses = {**_ERROR_STATUSES, **{s: "" for s in spec.get("errors", ())}}
    for status in statuses:
        responses.setdefault(status, {"$ref": "#/components/responses/Error"})
    operation["responses"] = responses
    if spec.get("public"):
        operation["security"] = []
    return operation


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """Return the OpenAPI 3.0.3 description of the API (no sign-in needed; entities only for readers)."""
    return jsonify(build_document(entity_view()))
