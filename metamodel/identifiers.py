"""Rules for entity and field names, which become SQL identifiers."""

from __future__ import annotations

import re

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
_NAME_RE = re.compile(NAME_PATTERN)

# Columns every record table has; a field may not take these names.
SYSTEM_COLUMNS = (
    "id",
    "record_no",
    "lock_version",
    "owner_id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "parent_id",
    "parent_field",
    "line_no",
)

# Words that would confuse SQL or our query-string syntax even when quoted.
RESERVED_WORDS = frozenset(
    [
        "all",
        "and",
        "any",
        "as",
        "asc",
        "between",
        "by",
        "case",
        "cast",
        "check",
        "column",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_time",
        "current_timestamp",
        "default",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "index",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "join",
        "key",
        "leading",
        "left",
        "like",
        "limit",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "some",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "when",
        "where",
        "window",
        "with",
        "q",
        "sort",
        "cursor",
        "page",
        "limit",
        "fields",
        "format",
        "lang",
    ]
)


def name_problem(name: object) -> str | None:
    """Return why ``name`` cannot be an entity or field name, or None when it can."""
    if not isinstance(name, str):
        return "must be a string"
    if not _NAME_RE.match(name):
        return (
            "must start with a lower-case letter and contain only lower-case letters, digits and "
            "underscores (at most 40 characters)"
        )
    if "__" in name:
        return "must not contain a double underscore (it separates field and operator in filters)"
    if name in RESERVED_WORDS:
        return f"'{name}' is a reserved word"
    return None


def field_name_problem(name: object) -> str | None:
    """Return why ``name`` cannot be a field name, or None when it can."""
    problem = name_problem(name)
    if problem is None and name in SYSTEM_COLUMNS:
        return f"'{name}' is a system column name"
    return problem


def table_name(entity_name: str) -> str:
    """Return the physical table name of an entity."""
    return f"rec_{entity_name}"
