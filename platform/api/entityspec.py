"""Per-entity parts of the OpenAPI document, generated from the metadata as one caller may see it.

Input schemas are the marshmallow schemas that validate record input (form_renderer.schemas),
converted by apispec; each field's JSON shape comes from its field type (``FieldType.json_schema``),
so the document cannot drift from what the API accepts and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from form_renderer.schemas import TypedField, record_schema
from metamodel.access.fields import HIDDEN, MASKED, READONLY, FieldAccess
from metamodel.definitions import FieldDef
from metamodel.model import EntityModel, SiteModel
from metamodel.records.query import _SYSTEM_FIELDS

_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
# Keys a client may send back as read; the runtime ignores them (lock_version and owner_id are used).
_INPUT_SYSTEM: dict[str, dict[str, Any]] = {
    "lock_version": {"type": "integer", "minimum": 1, "maximum": 2**31, "description": "optimistic lock"},
    "owner_id": {**_ID, "nullable": True, "description": "the owning user (administrators may set it)"},
}
_TITLES = {"type": "object", "additionalProperties": {"type": "string"}}


@dataclass(frozen=True)
class EntityView:
    """The entities a caller may read, each with what she may do with its restricted fields."""

    fields: dict[str, dict[str, FieldAccess]] = field(default_factory=dict)

    def shows(self, entity: str) -> bool:
        """Whether the caller may read ``entity``."""
        return entity in self.fields

    def level(self, entity: str, name: str) -> str | None:
        """Return the access level of a restricted field, None when unrestricted."""
        access = self.fields.get(entity, {}).get(name)
        return access.level if access is not None else None


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    out = {**schema, "nullable": True}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _described(definition: FieldDef, schema: dict[str, Any]) -> dict[str, Any]:
    text = definition.label()
    if definition.help():
        text += f": {definition.help()}"
    return {**schema, "description": f"{text} ({definition.type})"}


def _typed_field_shape(self: Any, field: fields.Field[Any], ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """apispec attribute function: a TypedField's shape is what its field type says it accepts."""
    if not isinstance(field, TypedField):
        return {}
    shape = field.field_type.json_schema(field.definition, output=False)
    if field.allow_none:
        shape = _nullable(shape)
    return _described(field.definition, shape)


def _output_schema(model: EntityModel, view: EntityView) -> dict[str, Any]:
    """Return ``<entity>Record``: a record as the API writes it to this caller."""
    name = model.entity.name
    if model.entity.is_child:
        system: dict[str, Any] = {"id": {"type": "integer"}, "line_no": {"type": "integer", "nullable": True}}
        required = ["id"]
    else:
        system = {k: {"type": "integer"} if k == "id" else _system_shape(k) for k in _SYSTEM_FIELDS}
        system.pop("parent_id", None)
        system["lock_version"] = {"type": "integer"}
        required = ["id", "lock_version"]
    props: dict[str, Any] = {**system, "_titles": _TITLES}
    for definition in model.entity.fields:
        level = view.level(name, definition.name)
        if level == HIDDEN:
            continue
        if level == MASKED:
            shape: dict[str, Any] = {"type": "string", "description": "masked"}
        else:
            shape = model.types[definition.name].json_schema(definition, output=True)
        # Lines always come as a list; any other value may be empty (null) in stored records.
        props[definition.name] = _described(
            definition, shape if definition.type == "child_table" else _nullable(shape)
        )
    return {
        "type": "object",
        "description": model.entity.label(),
        # Lines come with a single record, not in lists.
        "required": required
        + [f.name for f in model.entity.fields if f.name in props and f.type != "child_table"],
        "properties": props,
    }


def _system_shape(key: str) -> dict[str, Any]:
    kind = _SYSTEM_FIELDS[key]["type"]
    base = {"integer": {"type": "integer"}, "text": {"type": "string"}}.get(
        kind, {"type": "string", "format": "date-time"}
    )
    return _nullable(base)


def _input_schema(site: SiteModel, model: EntityModel, converter: Any, view: EntityView) -> dict[str, Any]:
    """Return ``<entity>Input`` from the marshmallow schema that validates the entity's input."""
    schema: Schema = record_schema(site, model, 1 if model.entity.is_child else 0)
    converted: dict[str, Any] = converter.schema2jsonschema(schema)
    props: dict[str, Any] = converted.get("properties", {})
    for definition in model.entity.fields:
        level = view.level(model.entity.name, definition.name)
        if level in (HIDDEN, MASKED, READONLY) and definition.name in props:
            del props[definition.name]  # not writable by this caller
        elif definition.type == "child_table":
            child = model.types[definition.name].json_schema(definition, output=False)
            props[definition.name] = _described(definition, _nullable(child))
    # Read-only keys are accepted and ignored: only the ones the runtime uses are described.
    for key in list(props):
        if key not in model.fields:
            del props[key]
    if model.entity.is_child:
        props["id"] = {**_ID, "description": "an existing line to keep (omit for a new line)"}
    else:
        props.update(_INPUT_SYSTEM)
    required = [k for k in converted.get("required", []) if k in props]
    out: dict[str, Any] = {
        "type": "object",
        "description": f"{model.entity.label()} as sent to the API",
        "properties": props,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    return out


def _converter() -> Any:
    plugin = MarshmallowPlugin()
    APISpec(title="-", version="-", openapi_version="3.0.3", plugins=[plugin])
    assert plugin.converter is not None
    plugin.converter.add_attribute_function(_typed_field_shape)  # type: ignore[no-untyped-call]
    return plugin.converter


def entity_schemas(site: SiteModel, view: EntityView) -> dict[str, Any]:
    """Return ``<entity>Record`` and ``<entity>Input`` of every entity the caller may read."""
    converter = _converter()
    result: dict[str, Any] = {}
    for name, model in sorted(site.entities.items()):
        if not view.shows(name):
            continue
        result[f"{name}Record"] = _output_schema(model, view)
        result[f"{name}Input"] = _input_schema(site, model, converter, view)
        if not model.entity.is_child:
            result[f"{name}List"] = _page(_ref(f"{name}Record"))
    return result


def record_schemas(site: SiteModel, view: EntityView) -> dict[str, Any]:
    """Return the schemas that depend on the set of entities: any record, any input, a list page."""
    names = sorted(n for n, m in site.entities.items() if not m.entity.is_child and view.shows(n))
    if names:
        any_record: dict[str, Any] = {"anyOf": [_ref(f"{n}Record") for n in names]}
        any_input: dict[str, Any] = {"anyOf": [_ref(f"{n}Input") for n in names]}
    else:
        any_record = any_input = {"type": "object"}
    return {
        "AnyRecord": any_record,
        "AnyInput": any_input,
        "RecordList": _page(_ref("AnyRecord")),
    }


def _page(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next_cursor", "has_more", "total"],
        "properties": {
            "items": {"type": "array", "items": item},
            "next_cursor": {"type": "string", "nullable": True},
            "has_more": {"type": "boolean"},
            "total": {"type": "integer", "nullable": True},
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
