"""What the record runtime and list queries do differently for encrypted fields.

Ciphertexts are random, so an encrypted column answers no comparison: exact matches go to the
field's search-hash column when it has one, and everything else is refused with a clear message
rather than silently matching nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement

from metamodel.crypto.sealing import HASH_OPERATORS, hash_column
from metamodel.definitions import FieldDef
from metamodel.errors import BadQuery, Problem
from metamodel.model import EntityModel


def with_search_hashes(model: EntityModel, values: dict[str, Any]) -> dict[str, Any]:
    """Return column values plus the search hash of each given encrypted field that has one."""
    if not model.seals:
        return values
    row = dict(values)
    for name, seal in model.seals.items():
        if seal.hashed and name in values:
            row[hash_column(name)] = seal.search_hash(values[name])
    return row


def equals(model: EntityModel, name: str, value: Any) -> ColumnElement[bool]:
    """Return ``<field> = value``, through the search hash when the field is encrypted."""
    seal = model.seals.get(name)
    if seal is None:
        plain: ColumnElement[bool] = model.table.c[name] == value
        return plain
    if not seal.hashed:
        raise _refused(model, name, name, 'exact matches need "search_hash": true on the field')
    return model.table.c[hash_column(name)] == seal.search_hash(value)


def check_operator(model: EntityModel, name: str, op: str, param: str) -> None:
    """Refuse a filter an encrypted field cannot answer (BadQuery, HTTP 400)."""
    seal = model.seals.get(name)
    if seal is None or op == "isnull" or (op in HASH_OPERATORS and seal.hashed):
        return
    if seal.hashed:
        raise _refused(
            model, name, param, f"only exact matches ({', '.join(HASH_OPERATORS)}, isnull) are possible"
        )
    raise _refused(model, name, param, "it can only be filtered with isnull (it has no search hash)")


def check_sort(model: EntityModel, name: str) -> None:
    """Refuse sorting by an encrypted field."""
    if name in model.seals:
        raise _refused(model, name, "sort", "it cannot be sorted")


def filter_clause(
    model: EntityModel, definition: FieldDef, op: str, value: Any
) -> ColumnElement[bool] | None:
    """Return the condition of a filter on an encrypted field, or None when the field is not encrypted."""
    seal = model.seals.get(definition.name)
    if seal is None:
        return None
    check_operator(model, definition.name, op, f"{definition.name}__{op}")
    column = model.table.c[definition.name]
    if op == "isnull":
        return column.is_(None) if value else column.is_not(None)
    hashes = model.table.c[hash_column(definition.name)]
    if op == "in":
        return hashes.in_([seal.search_hash(item) for item in value])
    digest = seal.search_hash(value)
    return hashes == digest if op == "eq" else or_(hashes != digest, hashes.is_(None))


def search_clause(model: EntityModel, definition: FieldDef, text: str) -> ColumnElement[bool] | None:
    """Return the free-text condition of an encrypted field (a whole-value match), or None when not encrypted."""
    seal = model.seals.get(definition.name)
    if seal is None:
        return None
    if not seal.hashed:
        raise _refused(model, definition.name, "q", 'free-text search needs "search_hash": true on the field')
    try:
        value = seal.field_type.prepare(definition, text)
    except ValueError:
        value = text
    return model.table.c[hash_column(definition.name)] == seal.search_hash(value)


def _refused(model: EntityModel, name: str, param: str, why: str) -> BadQuery:
    message = f"{model.name}.{name} is stored encrypted: {why}"
    return BadQuery(message, [Problem(param, message, "encrypted_field")])
