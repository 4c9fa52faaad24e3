"""Fixed shapes of the OpenAPI document and each endpoint's description (entity shapes: entityspec.py)."""

from __future__ import annotations

from typing import Any

from metamodel.records.query import MAX_OFFSET

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    """Return a $ref to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


_OBJECT = {"type": "object", "additionalProperties": True}
STATIC_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["path", "message", "code"],
        "properties": {"path": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}},
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": ref("Problem")},
                },
                "additionalProperties": True,
            }
        },
    },
    "FieldType": {
        "type": "object",
        "required": ["name", "widget", "operators"],
        "properties": {
            "name": {"type": "string"},
            "widget": {"type": "string"},
            "sortable": {"type": "boolean"},
            "has_column": {"type": "boolean"},
            "operators": {"type": "array", "items": {"type": "string"}},
            "definition_properties": _OBJECT,
        },
    },
    "FieldTypeList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": ref("FieldType")}},
    },
    "MetadataDocument": {**_OBJECT, "description": "an entity, form, workflow or trigger document"},
    "EntityDocument": {
        "type": "object",
        "required": ["name", "fields"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "fields": {"type": "array", "items": _OBJECT},
        },
        "additionalProperties": True,
    },
    "EntityList": {
        "type": "object",
        "required": ["version", "items"],
        "properties": {
            "version": {"type": "integer"},
            "items": {"type": "array", "items": ref("EntityDocument")},
        },
    },
    "Bundle": {
        "type": "object",
        "properties": {
            kind: {"type": "object", "additionalProperties": ref("MetadataDocument")}
            for kind in ("entity", "form", "workflow", "trigger")
        },
    },
    "ValidationResult": {
        "type": "object",
        "required": ["valid", "problems"],
        "properties": {"valid": {"type": "boolean"}, "problems": {"type": "array", "items": ref("Problem")}},
    },
    "VersionInfo": {
        "type": "object",
        "required": ["number", "created_at", "action", "changes"],
        "properties": {
            "number": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "created_by": _nullable({"type": "string"}),
            "comment": {"type": "string"},
            "action": {"type": "string", "enum": ["publish", "rollback", "import"]},
            "source_version": _nullable({"type": "integer"}),
            "changes": {"type": "array", "items": {"type": "string"}},
        },
    },
    "VersionDetail": {
        "allOf": [
            ref("VersionInfo"),
            {"type": "object", "required": ["bundle"], "properties": {"bundle": ref("Bundle")}},
        ]
    },
    "VersionList": {
        "type": "object",
        "required": ["active", "items"],
        "properties": {
            "active": _nullable({"type": "integer"}),
            "items": {"type": "array", "items": ref("VersionInfo")},
        },
    },
    "Diff": {
        "type": "object",
        "required": ["from", "to", "changes"],
        "properties": {
            "from": {"oneOf": [{"type": "integer"}, {"type": "string", "enum": ["draft"]}]},
            "to": {"oneOf": [{"type": "integer"}, {"type": "string", "enum": ["draft"]}]},
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "name", "change", "path"],
                    "properties": {
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "change": {"type": "string"},
                        "path": {"type": "string"},
                        "before": {},
                        "after": {},
                    },
                },
            },
        },
    },
    "PublishRequest": {"type": "object", "properties": {"comment": {"type": "string", "maxLength": 2000}}},
    "RollbackRequest": {
        "type": "object",
        "required": ["version"],
        "properties": {
            "version": {"type": "integer", "minimum": 1},
            "comment": {"type": "string", "maxLength": 2000},
        },
    },
    "Changes": {
        "type": "object",
        "required": ["changes"],
        "properties": {"changes": {"type": "array", "items": {"type": "string"}}},
    },
    "Discarded": {
        "type": "object",
        "required": ["discarded"],
        "properties": {"discarded": {"type": "boolean"}},
    },
    "Attachment": {
        "type": "object",
        "required": ["id", "filename", "size", "content_type"],
        "properties": {
            "id": {"type": "integer"},
            "filename": {"type": "string"},
            "size": {"type": "integer"},
            "content_type": {"type": "string"},
        },
    },
    "Upload": {
        "type": "object",
        "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}},
    },
    "TokenRequest": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 100},
            "days": _nullable({"type": "integer", "minimum": 1, "maximum": 3650}),
        },
    },
    "Token": {
        "type": "object",
        "required": ["token", "name"],
        "properties": {
            "token": {"type": "string"},
            "name": {"type": "string"},
            "expires_at": _nullable({"type": "string", "format": "date-time"}),
        },
    },
    "LookupList": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["id", "title"],
            "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
        },
    },
}


def query_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """Return an optional query parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _ok(
    schema: dict[str, Any] | None, status: str = "200", description: str = "OK", media: str = JSON
) -> dict[str, Any]:
    return {status: (description, schema, media)}


LIST_QUERY = [
    query_param("q", {"type": "string", "maxLength": 200}, "free-text search over searchable fields"),
    query_param("sort", {"type": "string"}, "sort key, e.g. name or -created_at"),
    query_param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "page size"),
    query_param(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_OFFSET // 500 + 1},
        f"page number (offset paging, at most {MAX_OFFSET} rows deep; use the cursor beyond)",
    ),
    query_param(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        "rows to skip (offset paging; use the cursor beyond)",
    ),
    query_param("cursor", {"type": "string"}, "next_cursor of the previous page (keyset paging)"),
    query_param("count", {"type": "boolean"}, "also return total"),
]
_ADMIN = ("403", "422")
_WRITE = ("409", "422")
_RECORD = {"$ref": "#/components/schemas/AnyRecord"}
_INPUT = {"$ref": "#/components/schemas/AnyInput"}

_VERSION_OR_DRAFT = {
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": 10**9}, {"type": "string", "enum": ["draft"]}]
}
ENDPOINTS: dict[str, dict[str, Any]] = {
    "openapi_document": {
        "summary": "This OpenAPI document",
        "public": True,
        "responses": _ok({"type": "object"}),
    },
    "meta_field_types": {"summary": "List field types", "responses": _ok(ref("FieldTypeList"))},
    "meta_entities": {
        "summary": "List the published entities the caller may read",
        "responses": _ok(ref("EntityList")),
    },
    "meta_entity": {"summary": "Get a published entity", "responses": _ok(ref("EntityDocument"))},
    "meta_draft": {"summary": "Get the draft", "errors": ("403",), "responses": _ok(ref("Bundle"))},
    "meta_draft_document": {
        "summary": "Get a draft document",
        "errors": ("403",),
        "responses": _ok(ref("MetadataDocument")),
    },
    "meta_put_document": {
        "summary": "Store a draft document (ids are assigned)",
        "errors": _ADMIN,
        "request": ref("MetadataDocument"),
        "responses": _ok(ref("MetadataDocument")),
    },
    "meta_delete_document": {
        "summary": "Remove a draft document",
        "errors": ("403",),
        "responses": _ok(None, "204", "removed"),
    },
    "meta_validate": {
        "summary": "Validate the draft",
        "errors": ("403",),
        "responses": _ok(ref("ValidationResult")),
    },
    "meta_discard": {
        "summary": "Reset the draft to the active version",
        "errors": ("403",),
        "responses": _ok(ref("Discarded")),
    },
    "meta_publish": {
        "summary": "Publish the draft",
        "errors": ("403", "409", "422"),
        "request": ref("PublishRequest"),
        "request_required": False,
        "responses": _ok(ref("VersionInfo"), "201", "published"),
    },
    "meta_versions": {
        "summary": "List versions (needs the configure permission)",
        "errors": ("403",),
        "responses": _ok(ref("VersionList")),
    },
    "meta_version": {
        "summary": "Get a version with its metadata (needs the configure permission)",
        "errors": ("403",),
        "responses": _ok(ref("VersionDetail")),
    },
    "meta_diff": {
        "summary": "Changes between two versions",
        "errors": ("403",),
        "query": [
            {
                "name": "from",
                "in": "query",
                "required": True,
                "schema": _VERSION_OR_DRAFT,
                "description": "version number or draft",
            },
            {
                "name": "to",
                "in": "query",
                "required": True,
                "schema": _VERSION_OR_DRAFT,
                "description": "version number or draft",
            },
        ],
        "responses": _ok(ref("Diff")),
    },
    "meta_rollback": {
        "summary": "Publish an earlier version again",
        "errors": ("403", "409", "422"),
        "request": ref("RollbackRequest"),
        "responses": _ok(ref("VersionInfo"), "201", "published"),
    },
    "meta_purge": {
        "summary": "Drop set-aside columns and tables",
        "errors": ("403",),
        "responses": _ok(ref("Changes")),
    },
    "meta_dry_run": {
        "summary": "Dry-run a trigger against existing data: which records would match or fire, and why",
        "errors": ("400", "403", "404", "422"),
        "request": {
            "type": "object",
            "description": "name a draft trigger, or send its whole document as 'document' instead",
            "required": ["trigger"],
            "properties": {
                "trigger": {"type": "string", "maxLength": 100, "description": "name of a draft trigger"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                "at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "judge as if it were this time",
                },
                "from": {
                    "type": "string",
                    "format": "date-time",
                    "description": "window start (default: now)",
                },
                "until": {
                    "type": "string",
                    "format": "date-time",
                    "description": "window end: every firing of a time trigger due until then",
                },
            },
        },
        "responses": _ok(_OBJECT),
    },
    "records_list": {
        "summary": "List records",
        "query": LIST_QUERY,
        "filters": True,
        "responses": _ok(ref("RecordList")),
    },
    "records_create": {
        "summary": "Create a record",
        "errors": _WRITE,
        "request": _INPUT,
        "responses": _ok(_RECORD, "201", "created; Location names the record"),
    },
    "records_lookup": {
        "summary": "Titles of matching records for link pickers",
        "query": [
            query_param("q", {"type": "string"}, "search text"),
            query_param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "at most this many"),
        ],
        "responses": _ok(ref("LookupList")),
    },
    "records_get": {"summary": "Get a record (ETag = lock_version)", "responses": _ok(_RECORD)},
    "records_patch": {
        "summary": "Change some fields (lock_version or If-Match for optimistic locking)",
        "errors": _WRITE,
        "request": _INPUT,
        "responses": _ok(_RECORD),
    },
    "records_put": {
        "summary": "Replace all fields (lock_version or If-Match for optimistic locking)",
        "errors": _WRITE,
        "request": _INPUT,
        "responses": _ok(_RECORD),
    },
    "records_delete": {
        "summary": "Delete a record",
        "errors": ("409",),
        "responses": _ok(None, "204", "deleted"),
    },
    "pool_claim": {
        "summary": "Claim a record from its entity's lead pool (409 when taken or over the claim limit)",
        "errors": ("403", "409"),
        "responses": _ok(_RECORD),
    },
    "pool_release": {
        "summary": "Release a record back to the lead pool",
        "errors": ("403", "409"),
        "responses": _ok(_RECORD),
    },
    "attachments_upload": {
        "summary": "Upload a file for an attachment field",
        "query": [
            {
                "name": "field",
                "in": "query",
                "required": True,
                "schema": {"type": "string"},
                "description": "attachment field",
            }
        ],
        "errors": ("413", "422"),
        "request": ref("Upload"),
        "request_type": "multipart/form-data",
        "responses": _ok(ref("Attachment"), "201", "stored"),
    },
    "attachments_download": {
        "summary": "Download an attachment",
        "responses": _ok({"type": "string", "format": "binary"}, media="application/octet-stream"),
    },
    "tokens_create": {
        "summary": "Create an API token for the signed-in user (shown once)",
        "errors": ("422",),
        "request": ref("TokenRequest"),
        "responses": _ok(ref("Token"), "201", "created"),
    },
}


__all__ = ["ENDPOINTS", "STATIC_SCHEMAS"]
