"""JSON Schemas of metadata documents and the structural check against them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from metamodel.errors import Problem

SCHEMA_FILES = {
    "entity": "entity.json",
    "form": "form.json",
    "workflow": "workflow.json",
    "trigger": "trigger.json",
    "report": "report.json",
    "dashboard": "dashboard.json",
}


@cache
def load_schema(kind: str) -> dict[str, Any]:
    """Return the JSON Schema of one document kind."""
    text = resources.files("metamodel.schemas").joinpath(SCHEMA_FILES[kind]).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _registry() -> Registry:
    resources_ = [(load_schema(k)["$id"], Resource.from_contents(load_schema(k))) for k in SCHEMA_FILES]
    return Registry().with_resources(resources_)


@cache
def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(kind), registry=_registry())


def format_path(prefix: str, parts: Any) -> str:
    """Render a JSON location as ``prefix.key[3].name``."""
    text = prefix
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def check_document(kind: str, doc: Any, prefix: str) -> list[Problem]:
    """Validate one document against its schema; each problem names its path."""
    problems = []
    for error in sorted(_validator(kind).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(Problem(format_path(prefix, error.absolute_path), _message(error), "schema"))
    return problems


def check_against(schema: dict[str, Any], value: Any, prefix: str) -> list[Problem]:
    """Validate ``value`` against an inline schema that may reference the shared definitions."""
    validator = Draft202012Validator(
        {"$defs": load_schema("entity")["$defs"], **schema}, registry=_registry()
    )
    return [
        Problem(format_path(prefix, error.absolute_path), _message(error), "schema")
        for error in validator.iter_errors(value)
    ]


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        return str(error.message).replace("Additional properties are not allowed", "unknown key")
    if error.validator == "required":
        return str(error.message).replace("is a required property", "is required")
    message = str(error.message)
    if len(message) > 200 and error.validator in (
        "maxLength",
        "minLength",
        "maxItems",
        "minItems",
        "pattern",
        "enum",
        "type",
    ):
        # jsonschema quotes the whole offending value; a huge one must not come back verbatim.
        limit = {
            "maxLength": "at most {} characters",
            "minLength": "at least {} characters",
            "maxItems": "at most {} items",
            "minItems": "at least {} items",
            "pattern": "must match {}",
            "enum": "must be one of {}",
            "type": "must be of type {}",
        }
        expected = error.validator_value
        if error.validator == "enum":
            expected = ", ".join(repr(v) for v in expected)[:200]
        return limit[error.validator].format(expected)
    return message if len(message) <= 300 else message[:297] + "..."
