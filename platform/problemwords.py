"""The engine's field problems ("must be at most 50 characters") said in the reader's language.

The engine reports problems in English with a stable code; the pages and the API answer in the
request's locale. Each known message shape is matched once here and worded from the catalog
(``problem.*`` keys), its numbers and names kept; a message of no known shape is shown as the
engine said it (the admin's own validation messages arrive already in the reader's language).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from crm_platform.i18n import DEFAULT_LOCALE, current_locale, t_in

# (pattern of the engine's English message, catalog key); the named groups fill the key's placeholders.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{pattern}$", re.DOTALL), key)
    for pattern, key in (
        (r"the (?P<entity>\w+) record is not valid", "problem.record_invalid"),
        ("is required", "problem.required"),
        ("is read-only", "problem.readonly"),
        ("must be text", "problem.text"),
        ("must be a single line", "problem.single_line"),
        ("must not contain NUL characters", "problem.nul"),
        ("must not contain unpaired surrogate characters", "problem.surrogate"),
        (r"must be at most (?P<n>\d+) characters", "problem.max_chars"),
        (r"must be at least (?P<n>\d+) characters", "problem.min_chars"),
        (r"does not match the required pattern (?P<pattern>.+)", "problem.pattern"),
        ("is not a valid e-mail address", "problem.email"),
        ("is not a valid phone number", "problem.phone"),
        ("must be an http:// or https:// address", "problem.url"),
        ("must be a number", "problem.number"),
        ("must be a whole number", "problem.whole_number"),
        ("must be a finite number", "problem.finite"),
        ("is too long to be a number", "problem.number_too_long"),
        ("is too large", "problem.too_large"),
        (r"must have at most (?P<n>\d+) decimal places", "problem.decimal_places"),
        (r"must be at least (?P<n>-?[\d.,]+)", "problem.min_value"),
        (r"must be at most (?P<n>-?[\d.,]+)", "problem.max_value"),
        ("must be a date like 2026-01-31", "problem.date"),
        ("must be a date and time like 2026-01-31T09:30:00\\+08:00", "problem.datetime"),
        ("must be true or false", "problem.boolean"),
        ("must be one of the option values", "problem.option"),
        (r"must be one of: (?P<options>.+)", "problem.one_of"),
        ("must be a record id", "problem.record_id"),
        ("points to a record of another entity", "problem.other_entity"),
        ("must be a list of line objects", "problem.lines"),
        (r"must have at most (?P<n>\d+) lines", "problem.max_lines"),
        ("must be JSON data", "problem.json"),
        (r"is not valid JSON: (?P<detail>.+)", "problem.json_invalid"),
        (r"must be at most (?P<n>\d+) bytes of JSON", "problem.json_size"),
        (r"must be unique; (?P<entity>\w+) (?P<id>\d+) already has this value", "problem.unique"),
        (
            r"the combination of (?P<fields>.+) must be unique; (?P<entity>\w+) (?P<id>\d+) already has these values",
            "problem.unique_set",
        ),
        # Imports: a row's fate in the dry run and the error report.
        (r"no (?P<entity>\w+) record '(?P<value>.*)'", "problem.import_no_link"),
        (r"duplicate of row (?P<row>\d+) in the file \(skipped\)", "problem.import_duplicate_row"),
        (r"already stored as (?P<entity>\w+) #(?P<id>\d+) \(skipped\)", "problem.import_stored"),
        ("nothing new to fill in \\(skipped\\)", "problem.import_nothing_new"),
        ("no stored record has this key", "problem.import_no_key_match"),
        (r"the key matches (?P<n>\d+) stored records", "problem.import_many_matches"),
    )
)
_COMPUTED = re.compile(r"^the computed value (?P<rest>.+)$", re.DOTALL)


def worded(message: str, locale: str | None = None) -> str:
    """Return an engine problem message in ``locale`` (default: the request's), or as it is when unknown."""
    locale = locale or current_locale()
    if locale == DEFAULT_LOCALE:
        return message
    computed = _COMPUTED.match(message)
    if computed:
        return t_in(locale, "problem.computed", problem=worded(computed.group("rest"), locale))
    for pattern, key in _SHAPES:
        found = pattern.match(message)
        if found:
            return t_in(locale, key, **found.groupdict())
    return message


def worded_details(details: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return API error details with each message in the request's language (paths and codes unchanged)."""
    locale = current_locale()
    return [{**item, "message": worded(str(item.get("message", "")), locale)} for item in details]
