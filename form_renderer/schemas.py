"""marshmallow schemas generated from entity metadata; forms and the API validate input through them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields

from metamodel.definitions import FieldDef
from metamodel.errors import Problem, RecordInvalid
from metamodel.fieldtypes.base import FieldType, ValueProblem
from metamodel.model import EntityModel, SiteModel
from metamodel.records.values import READ_ONLY_KEYS


class TypedField(fields.Field[Any]):
    """A marshmallow field that delegates checking and conversion to the metadata field type."""

    def __init__(self, definition: FieldDef, field_type: FieldType, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definition = definition
        self.field_type = field_type

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        try:
            prepared = self.field_type.prepare(self.definition, value)
        except ValueProblem as exc:
            raise ValidationError(exc.message) from None
        if self.definition.required and self.field_type.is_empty(prepared):
            raise ValidationError("is required")
        return prepared

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return self.field_type.serialize(self.definition, value)


def _schema_fields(site: SiteModel, model: EntityModel, depth: int = 0) -> dict[str, fields.Field[Any]]:
    result: dict[str, fields.Field[Any]] = {}
    for definition in model.entity.fields:
        field_type = model.types[definition.name]
        if definition.type == "child_table" and depth == 0:
            child = site.entity(str(definition.get("child_entity")))
            line_schema = record_schema(site, child, depth + 1)
            result[definition.name] = fields.List(fields.Nested(line_schema), required=False, allow_none=True)
        else:
            # A required field with a default may be left out: the runtime applies the default.
            must_send = definition.required and definition.get("default") is None
            result[definition.name] = TypedField(
                definition, field_type, required=must_send, allow_none=not definition.required
            )
    for key in READ_ONLY_KEYS | {"owner_id"}:
        # Clients may send back what they read; these keys are accepted and ignored (owner_id is checked later).
        result.setdefault(key, fields.Raw(load_default=None, allow_none=True))
    return result


def record_schema(site: SiteModel, model: EntityModel, depth: int = 0) -> Schema:
    """Return a marshmallow schema instance for records of ``model`` (unknown keys are refused)."""
    schema_class = Schema.from_dict(_schema_fields(site, model, depth), name=f"{model.name.title()}Record")
    return schema_class(unknown=RAISE)


def load_record(site: SiteModel, entity: str, data: Any, *, partial: bool) -> dict[str, Any]:
    """Validate input for ``entity``; returns the converted values or raises RecordInvalid with field paths."""
    model = site.entity(entity)
    if not isinstance(data, Mapping):
        raise RecordInvalid("the record must be a JSON object", [Problem("", "expected an object", "type")])
    try:
        # Only top-level fields may be left out: child lines are always sent whole, so a new line
        # still needs its required fields (partial=True would reach into the nested line schema).
        top_level = tuple(model.fields) if partial else False
        loaded: dict[str, Any] = record_schema(site, model).load(data, partial=top_level)
    except ValidationError as exc:
        raise RecordInvalid(f"the {entity} record is not valid", flatten_errors(exc.messages)) from None
    return {k: v for k, v in loaded.items() if k in data and k not in READ_ONLY_KEYS}


def flatten_errors(messages: Any, prefix: str = "") -> list[Problem]:
    """Turn marshmallow's nested error messages into problems with paths like ``lines[0].qty``."""
    problems: list[Problem] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            problems += flatten_errors(value, path)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            code = "unknown_field" if message == "Unknown field." else "invalid"
            text = f"unknown field '{prefix.rsplit('.', 1)[-1]}'" if code == "unknown_field" else message
            if message == "Missing data for required field.":
                text, code = "is required", "required"
            problems.append(Problem(prefix, text, code))
    elif isinstance(messages, list):
        for index, item in enumerate(messages):
            problems += flatten_errors(item, f"{prefix}[{index}]")
    else:
        problems.append(Problem(prefix, str(messages), "invalid"))
    return problems
