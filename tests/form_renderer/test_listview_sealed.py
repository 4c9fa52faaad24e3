"""List views offer no sort link and only exact filters for encrypted fields."""

from __future__ import annotations

from form_renderer.listview import filter_controls, list_columns
from metamodel.crypto.sealing import Sealing
from metamodel.definitions import Bundle
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.model import SiteModel
from tests.metamodel.crypto.cryptosupport import keyring

DOC = {
    "name": "lead",
    "fields": [
        {"id": "f1", "name": "name", "type": "text"},
        {"id": "f2", "name": "phone", "type": "phone", "sensitive": True, "search_hash": True},
        {"id": "f3", "name": "note", "type": "text", "sensitive": True},
    ],
    "id": "e1",
}


def model(sealing: Sealing) -> SiteModel:
    registry = register_builtin_field_types(FieldTypeRegistry())
    return SiteModel(1, Bundle.from_json({"entity": {"lead": DOC}}), registry, sealing)


def test_encrypted_columns_are_not_sortable_and_filter_by_exact_match_only() -> None:
    lead = model(Sealing(keyring())).entity("lead")
    assert {c.name: c.sortable for c in list_columns(lead, "en")} == {
        "name": True,
        "phone": False,
        "note": False,
    }
    controls = {c.name: c.operators for c in filter_controls(lead, "en")}
    assert controls["phone"] == ("eq", "ne", "in")
    assert "note" not in controls and "contains" in controls["name"]


def test_without_encryption_nothing_changes() -> None:
    lead = model(Sealing(None)).entity("lead")
    assert all(c.sortable for c in list_columns(lead, "en"))
    assert "contains" in {c.name: c.operators for c in filter_controls(lead, "en")}["note"]
