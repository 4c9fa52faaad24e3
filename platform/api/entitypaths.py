"""One set of record paths per entity the caller may read: exact schemas, typed filters and sort keys.

A templated ``/records/{entity}`` cannot say which filters, sort keys and fields belong to which entity,
so a signed-in caller's document spells each entity's paths out; anonymous callers get the template.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from crm_platform.api.entityspec import EntityView
from metamodel.access.fields import HIDDEN
from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import FieldType
from metamodel.model import EntityModel, SiteModel
from metamodel.records.query import _SYSTEM_FIELDS

_LISTS = ("in", "between", "has_any", "has_all")
_SOME_TEXT = {"type": "string", "maxLength": 1000, "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"}


def _filter_schema(field_type: FieldType, definition: FieldDef, op: str) -> dict[str, Any]:
    if op == "isnull":
        return {"type": "boolean"}
    if op in ("contains", "startswith"):
        return dict(_SOME_TEXT)
    value = field_type.json_schema(definition, output=False)
    if op in ("has_any", "has_all"):
        return value  # already a list of option values
    if op in _LISTS:
        item = {**value, "not": {"pattern": ","}} if value.get("type") == "string" else value
        size = {"minItems": 2, "maxItems": 2} if op == "between" else {"minItems": 1, "maxItems": 20}
        return {"type": "array", "items": item, **size}
    return value


def _fields(site: SiteModel, model: EntityModel, view: EntityView) -> list[tuple[FieldDef, FieldType]]:
    name = model.entity.name
    found = [(f, model.types[f.name]) for f in model.column_fields() if view.level(name, f.name) != HIDDEN]
    for key, spec in _SYSTEM_FIELDS.items():
        if key in model.table.c:
            definition = FieldDef({"id": key, "name": key, **spec})
            found.append((definition, site.registry.get(str(spec["type"]))))
    return found


def entity_filters(site: SiteModel, model: EntityModel, view: EntityView) -> list[dict[str, Any]]:
    """Return the ``field__op`` query parameters of one entity with their value schemas, and its sort keys."""
    params: list[dict[str, Any]] = []
    sortable: list[str] = []
    for definition, field_type in _fields(site, model, view):
        if field_type.sortable:
            sortable += [definition.name, f"-{definition.name}"]
        for op in field_type.operators:
            param: dict[str, Any] = {
                "name": f"{definition.name}__{op}",
                "in": "query",
                "required": False,
                "schema": _filter_schema(field_type, definition, op),
            }
            if param["schema"].get("type") == "array":
                param.update(style="form", explode=False)  # comma-separated, as the API reads it
            params.append(param)
    params.append(
        {
            "name": "sort",
            "in": "query",
            "required": False,
            "description": "sort key; a leading - sorts descending",
            "schema": {"type": "string", "enum": sortable},
        }
    )
    return params


def specialise(
    operation: dict[str, Any], model: EntityModel, filters: list[dict[str, Any]] | None, view: EntityView
) -> dict[str, Any] | None:
    """Return ``operation`` of a ``{entity}`` path made specific to one entity (None: not for it)."""
    name = model.entity.name
    if operation["operationId"] == "attachments_upload" and not any(
        f.type == "attachment" for f in model.entity.fields
    ):
        return None  # an entity without attachment fields takes no uploads
    text = json.dumps(operation)
    for generic, own in (("AnyRecord", "Record"), ("AnyInput", "Input"), ("RecordList", "List")):
        text = text.replace(f'"#/components/schemas/{generic}"', f'"#/components/schemas/{name}{own}"')
    out: dict[str, Any] = json.loads(text)
    out["operationId"] = f"{out['operationId']}__{name}"
    params = [p for p in out.get("parameters", []) if not (p["in"] == "path" and p["name"] == "entity")]
    if filters is not None:
        params = [p for p in params if p["name"] != "sort"] + copy.deepcopy(filters)
    attachments = [f.name for f in model.entity.fields if f.type == "attachment"]
    for param in params:
        if param["name"] == "field" and param["in"] == "query":
            param["schema"] = {"type": "string", "enum": attachments}
    body = out.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if out["operationId"].startswith("records_reveal"):
        # A hidden field is named only to a caller who may reveal it.
        access = view.fields.get(name, {})
        shown = [
            f.name
            for f in model.entity.fields
            if f.name not in access or access[f.name].level != HIDDEN or access[f.name].reveal
        ]
        body["properties"]["fields"]["items"] = {"type": "string", "enum": shown}
    if params:
        out["parameters"] = params
    else:
        out.pop("parameters", None)
    return out
