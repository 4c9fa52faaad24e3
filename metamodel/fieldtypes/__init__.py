"""Built-in field types; ``register_builtin_field_types`` is called once at start-up."""

from __future__ import annotations

from metamodel.fieldtypes.base import FieldType, FieldTypeRegistry, ValueProblem
from metamodel.fieldtypes.choice import BooleanType, MultiSelectType, SelectType
from metamodel.fieldtypes.misc import AttachmentType, JsonType
from metamodel.fieldtypes.numeric import CurrencyType, DecimalType, IntegerType
from metamodel.fieldtypes.relation import ChildTableType, LinkType
from metamodel.fieldtypes.temporal import DateTimeType, DateType
from metamodel.fieldtypes.text import (
    EmailType,
    LongTextType,
    PhoneType,
    TextType,
    UrlType,
)

BUILTIN_FIELD_TYPES: tuple[type[FieldType], ...] = (
    TextType,
    LongTextType,
    IntegerType,
    DecimalType,
    CurrencyType,
    BooleanType,
    DateType,
    DateTimeType,
    SelectType,
    MultiSelectType,
    EmailType,
    PhoneType,
    UrlType,
    LinkType,
    ChildTableType,
    JsonType,
    AttachmentType,
)


def register_builtin_field_types(registry: FieldTypeRegistry) -> FieldTypeRegistry:
    """Register every built-in field type into ``registry`` and return it."""
    for field_type in BUILTIN_FIELD_TYPES:
        registry.register(field_type)
    return registry


__all__ = [
    "BUILTIN_FIELD_TYPES",
    "FieldType",
    "FieldTypeRegistry",
    "ValueProblem",
    "register_builtin_field_types",
]
