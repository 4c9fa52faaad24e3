"""The small type system of expressions, and how field types map onto it."""

from __future__ import annotations

NUMBER, STRING, BOOLEAN, DATE, DATETIME, LIST, ANY = (
    "number",
    "string",
    "boolean",
    "date",
    "datetime",
    "list",
    "any",
)

FIELD_TYPE_TYPES = {
    "text": STRING,
    "long_text": STRING,
    "email": STRING,
    "phone": STRING,
    "url": STRING,
    "select": STRING,
    "integer": NUMBER,
    "decimal": NUMBER,
    "currency": NUMBER,
    "boolean": BOOLEAN,
    "date": DATE,
    "datetime": DATETIME,
    "multi_select": LIST,
    "link": NUMBER,
    "attachment": NUMBER,
    "json": ANY,
}
SYSTEM_COLUMN_TYPES = {
    "id": NUMBER,
    "owner_id": NUMBER,
    "created_by": NUMBER,
    "updated_by": NUMBER,
    "record_no": STRING,
    "created_at": DATETIME,
    "updated_at": DATETIME,
    "parent_id": NUMBER,
    "line_no": NUMBER,
}


def compatible(actual: str, expected: str) -> bool:
    """Whether a value of type ``actual`` may stand where ``expected`` is wanted."""
    if ANY in (actual, expected) or actual == expected:
        return True
    return expected == DATETIME and actual == DATE
