"""Metadata endpoints: field types, published entities, the draft, publishing, versions and diffs."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from crm_platform.api import bp
from crm_platform.api.common import (
    BadRequest,
    admin_required,
    configure_required,
    int_value,
    json_body,
    username,
)
from crm_platform.api.datafindings import finding_dict, localised_refusal
from crm_platform.api.metaview import readable_docs
from crm_platform.services import services
from metamodel.datachecks import findings_by_severity
from metamodel.definitions import DOCUMENT_KINDS
from metamodel.errors import MetadataInvalid, NotFound, Problem, SchemaChangeRefused
from metamodel.versions import fingerprint

_MAX_NAME = 100  # the width of sys_meta_draft.name


def field_type_info() -> list[dict[str, Any]]:
    """Return every registered field type with its widget, operators and definition keys."""
    registry = services().field_types
    result = []
    for name in registry.names():
        field_type = registry.get(name)
        result.append(
            {
                "name": name,
                "widget": field_type.widget,
                "sortable": field_type.sortable,
                "has_column": field_type.has_column,
                "operators": list(field_type.operators),
                "definition_properties": dict(field_type.definition_properties),
            }
        )
    return result


@bp.get("/meta/field-types")
def meta_field_types() -> Any:
    """List the registered field types."""
    return jsonify({"items": field_type_info()})


@bp.get("/meta/entities")
def meta_entities() -> Any:
    """List the published entity documents the user may read (less the fields hidden from her)."""
    model = services().metadata.model()
    return jsonify({"version": model.version, "items": readable_docs(list(model.bundle.entities()))})


@bp.get("/meta/entities/<name>")
def meta_entity(name: str) -> Any:
    """Return one published entity document, as the user may read it."""
    model = services().metadata.model()
    entity = model.bundle.entity(name)
    shown = readable_docs([entity]) if entity is not None else []
    if not shown:
        raise NotFound(f"entity '{name[:100]}' is not published")
    return jsonify(shown[0])


@bp.get("/meta/draft")
@configure_required
def meta_draft() -> Any:
    """Return the whole draft bundle."""
    return jsonify(services().metadata.draft().to_json())


def _check_kind_name(kind: str, name: str) -> None:
    if kind not in DOCUMENT_KINDS:
        raise NotFound(f"unknown document kind '{kind[:40]}'; use one of {', '.join(DOCUMENT_KINDS)}")
    if not name or len(name) > _MAX_NAME:
        raise MetadataInvalid(
            "the document name is not valid",
            [Problem(f"{kind}.name", f"use 1-{_MAX_NAME} characters", "name")],
        )


@bp.get("/meta/draft/<kind>/<name>")
@configure_required
def meta_draft_document(kind: str, name: str) -> Any:
    """Return one draft document."""
    _check_kind_name(kind, name)
    doc = services().metadata.draft().documents[kind].get(name)
    if doc is None:
        raise NotFound(f"the draft has no {kind} '{name}'")
    response = jsonify(doc)
    response.headers["ETag"] = f'"{fingerprint(doc)}"'
    return response


@bp.put("/meta/draft/<kind>/<name>")
@configure_required
def meta_put_document(kind: str, name: str) -> Any:
    """Store one draft document; returns it with ids assigned."""
    _check_kind_name(kind, name)
    # If-Match with the ETag read before: a document someone changed since is refused (409), not overwritten.
    base = request.headers.get("If-Match")
    base = base.strip().strip('"') if base is not None else None
    doc = services().metadata.put_document(kind, name, json_body(), username(), base)
    response = jsonify(doc)
    response.headers["ETag"] = f'"{fingerprint(doc)}"'
    return response


@bp.delete("/meta/draft/<kind>/<name>")
@configure_required
def meta_delete_document(kind: str, name: str) -> Any:
    """Remove one document from the draft."""
    _check_kind_name(kind, name)
    services().metadata.delete_document(kind, name)
    return Response(status=204)


@bp.post("/meta/draft/validate")
@configure_required
def meta_validate() -> Any:
    """Check the whole draft and what publishing it would do to stored records (200 either way).

    Body (optional): ``{"remap": {entity: {field: {removed option: remaining option}}}}`` to preview
    an option map. Data findings that refuse a publish are among the ``problems`` (with ``severity``,
    ``count`` and the first records by id and title); the others are ``warnings``.
    """
    body = json_body(optional=True)
    metadata = services().metadata
    problems = metadata.validate_draft()
    map_problems, findings = metadata.check_draft_data(body.get("remap"))
    errors, warnings = findings_by_severity(findings)
    listed = [p.as_dict() for p in problems + map_problems] + [finding_dict(f) for f in errors]
    return jsonify({"valid": not listed, "problems": listed, "warnings": [finding_dict(f) for f in warnings]})


@bp.post("/meta/draft/discard")
@configure_required
def meta_discard() -> Any:
    """Reset the draft to the active version."""
    json_body(optional=True)
    services().metadata.discard_draft()
    return jsonify({"discarded": True})


def _comment(body: dict[str, Any]) -> str:
    comment = body.get("comment", "")
    if comment is None:
        return ""
    if not isinstance(comment, str) or len(comment) > 2000:
        raise BadRequest(
            "'comment' must be text of at most 2000 characters", [Problem("comment", "must be text", "type")]
        )
    return comment


@bp.post("/meta/publish")
@configure_required
def meta_publish() -> Any:
    """Publish the draft as a new version (422 with problems when it is not valid)."""
    body = json_body(optional=True)
    try:
        info = services().metadata.publish(username(), _comment(body), body.get("remap"))
    except SchemaChangeRefused as error:
        raise localised_refusal(error) from None
    return jsonify(info.as_dict()), 201


# Versions and diffs show every field of every entity, past ones too, with who changed what: like the
# draft they need the configure permission (a reader's filtered view of the model is /meta/entities).
@bp.get("/meta/versions")
@configure_required
def meta_versions() -> Any:
    """List the published versions, newest first."""
    metadata = services().metadata
    return jsonify({"active": metadata.active_version(), "items": [v.as_dict() for v in metadata.versions()]})


@bp.get("/meta/versions/<number>")
@configure_required
def meta_version(number: str) -> Any:
    """Return one version's description and metadata."""
    if not number.isascii() or not number.isdigit() or len(number) > 9:
        raise NotFound(f"version '{number[:40]}' does not exist")
    metadata = services().metadata
    for info in metadata.versions():
        if info.number == int(number):
            return jsonify({**info.as_dict(), "bundle": metadata.bundle_of(info.number).to_json()})
    raise NotFound(f"version {number} does not exist")


def _version_ref(name: str) -> int | str:
    raw = request.args.get(name)
    if raw is None or raw == "":
        raise BadRequest(
            f"give '{name}' as a version number or 'draft'", [Problem(name, "is required", "required")]
        )
    if raw == "draft":
        return raw
    return int_value(raw, name, low=1, high=10**9)


@bp.get("/meta/diff")
@configure_required
def meta_diff() -> Any:
    """Return the changes between two versions (either may be 'draft'); needs the configure permission."""
    old, new = _version_ref("from"), _version_ref("to")
    return jsonify({"from": old, "to": new, "changes": services().metadata.diff(old, new)})


@bp.post("/meta/rollback")
@configure_required
def meta_rollback() -> Any:
    """Publish an earlier version's metadata again as a new version."""
    body = json_body()
    number = int_value(body.get("version"), "version", high=10**9)
    info = services().metadata.rollback(number, username(), _comment(body))
    return jsonify(info.as_dict()), 201


@bp.post("/meta/purge")
@admin_required  # drops data for good: administrators only
def meta_purge() -> Any:
    """Drop set-aside tables and columns of removed fields for good."""
    json_body(optional=True)
    return jsonify({"changes": services().metadata.purge()})
