"""Sealed values round-trip through every field type that can be encrypted; hashes follow normalisation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metamodel.crypto.sealing import FieldSeal, Sealing, can_seal, field_aad
from metamodel.definitions import EntityDef, FieldDef
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from tests.metamodel.crypto.cryptosupport import keyring

REGISTRY = register_builtin_field_types(FieldTypeRegistry())
RING = keyring()


def seal_of(doc: dict[str, Any]) -> FieldSeal:
    definition = FieldDef({"id": "f1", "name": "v", "sensitive": True, "search_hash": True, **doc})
    entity = EntityDef({"id": "e1", "name": "thing", "fields": [definition.doc]})
    found = Sealing(RING).seal(entity, definition, REGISTRY.of(definition))
    assert found is not None
    return found


CASES: list[tuple[dict[str, Any], Any]] = [
    (
        {"type": "long_text"},
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=50)
        .map(str.strip)
        .filter(bool),
    ),
    ({"type": "integer"}, st.integers(-(10**12), 10**12)),
    (
        {"type": "decimal", "scale": 2},
        st.decimals(-(10**9), 10**9, places=2, allow_nan=False, allow_infinity=False),
    ),
    ({"type": "boolean"}, st.booleans()),
    ({"type": "date"}, st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1))),
    (
        {"type": "datetime"},
        st.datetimes(dt.datetime(1970, 1, 2), dt.datetime(2200, 1, 1)).map(
            lambda d: d.replace(microsecond=0, tzinfo=dt.UTC)
        ),
    ),
    ({"type": "json"}, st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4)),
]


@pytest.mark.parametrize(("doc", "values"), CASES, ids=[c[0]["type"] for c in CASES])
def test_values_survive_encryption(doc: dict[str, Any], values: Any) -> None:
    seal = seal_of(doc)

    @settings(max_examples=40, deadline=None)
    @given(values)
    def round_trip(value: Any) -> None:
        prepared = seal.field_type.prepare(seal.definition, seal.field_type.serialize(seal.definition, value))
        stored = seal.encrypt(prepared)
        assert stored.startswith("v1:k0:")
        assert seal.decrypt(stored) == prepared
        assert seal.search_hash(prepared) == seal.search_hash(seal.decrypt(stored))

    round_trip()


def test_hashes_ignore_case_and_surrounding_space_of_text() -> None:
    seal = seal_of({"type": "text"})
    assert seal.search_hash("Alice Smith") == seal.search_hash("  alice SMITH ")
    assert seal.search_hash("Alice Smith") != seal.search_hash("Alice Smyth")
    assert seal.search_hash(None) is None
    money = seal_of({"type": "decimal", "scale": 2})
    as_filtered = money.field_type.prepare(money.definition, "1.5")  # a filter value is prepared first
    assert money.search_hash(as_filtered) == money.search_hash(Decimal("1.50"))
    assert money.search_hash(Decimal("1.51")) != money.search_hash(Decimal("1.50"))


def test_links_and_attachments_are_never_sealed() -> None:
    for doc in ({"type": "link", "target": "thing"}, {"type": "attachment"}):
        definition = FieldDef({"id": "f1", "name": "v", "sensitive": True, **doc})
        assert not can_seal(REGISTRY.of(definition), definition)
    assert field_aad("e1", "f1") != field_aad("e1", "f2")
