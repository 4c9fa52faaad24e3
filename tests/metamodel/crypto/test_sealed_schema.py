"""Publishing a field as sensitive (or not) encrypts (or decrypts) its stored values in place."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from metamodel.errors import SchemaChangeRefused
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.records.query import ListQuery, make_filter
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.crypto.cryptosupport import keyring, raw_column, raw_dump, sealed_site
from tests.metamodel.mmsupport import Site, entity

PEOPLE: list[dict[str, Any]] = [
    {"name": "Ann", "phone": "13811112222", "born": "1990-01-02", "code": "A-1"},
    {"name": "Ben", "phone": "13933334444", "born": None, "code": "B-2"},
    {"name": "Cy", "phone": None, "born": "1975-12-31", "code": "C-3"},
]


def person(**flags: Any) -> dict[str, Any]:
    fields = [
        {"name": "name", "type": "text"},
        {"name": "phone", "type": "phone", **flags},
        {"name": "born", "type": "date", **{k: v for k, v in flags.items() if k == "sensitive"}},
        {"name": "code", "type": "text", "unique": True, **flags},
    ]
    return entity("person", fields)


@pytest.fixture
def sealed(engine: Engine, registry: FieldTypeRegistry) -> Site:
    return sealed_site(engine, registry, keyring())


def values(runtime: RecordRuntime) -> list[tuple[Any, ...]]:
    items = runtime.list("person", ListQuery(sort="id")).items
    return [(r["name"], r["phone"], r["born"], r["code"]) for r in items]


def expected() -> list[tuple[Any, ...]]:
    return [(p["name"], p["phone"], p["born"], p["code"]) for p in PEOPLE]


def with_ids(site: Site, doc: dict[str, Any]) -> dict[str, Any]:
    """Return ``doc`` carrying the ids its fields already have in the draft (so it is a change, not a new field)."""
    ids = {f["name"]: f["id"] for f in site.draft_docs()["person"]["fields"]}
    return {
        **doc,
        "id": site.draft_docs()["person"]["id"],
        "fields": [{**f, "id": ids.get(f["name"])} for f in doc["fields"]],
    }


def test_making_fields_sensitive_encrypts_existing_values_and_back(sealed: Site) -> None:
    runtime = sealed.publish([person()])
    for record in PEOPLE:
        runtime.create("person", record)
    assert "13811112222" in raw_dump(sealed.engine, "rec_person")

    runtime = sealed.publish([with_ids(sealed, person(sensitive=True, search_hash=True))])
    assert values(runtime) == expected()
    dump = raw_dump(sealed.engine, "rec_person")
    for secret in ("13811112222", "13933334444", "1990-01-02", "1975", "A-1", "B-2"):
        assert secret not in dump
    assert raw_column(sealed.engine, "rec_person", "phone")[2] is None  # empty stays empty
    assert all(v.startswith("v1:k0:") for v in raw_column(sealed.engine, "rec_person", "code"))
    model = runtime.model.entity("person")
    query = ListQuery([make_filter(model, runtime.registry, "code", "eq", "b-2")])
    assert [r["name"] for r in runtime.list("person", query).items] == ["Ben"]  # hashes of the old values
    assert "rec_person" in sealed.tables() and "mv_" not in " ".join(sealed.columns("rec_person"))

    runtime = sealed.publish([with_ids(sealed, person())])
    assert values(runtime) == expected()
    assert raw_column(sealed.engine, "rec_person", "phone")[:2] == ["13811112222", "13933334444"]
    assert "code__bidx" not in " ".join(sealed.columns("rec_person")).replace("rm_", "")


def test_rollback_decrypts_and_encrypts_again(sealed: Site) -> None:
    runtime = sealed.publish([person()])
    for record in PEOPLE:
        runtime.create("person", record)
    sealed.publish([with_ids(sealed, person(sensitive=True, search_hash=True))])  # version 2
    runtime = sealed.rollback(1)
    assert values(runtime) == expected()
    assert "13811112222" in raw_dump(sealed.engine, "rec_person")
    runtime = sealed.rollback(2)
    assert values(runtime) == expected()
    assert "13811112222" not in raw_dump(sealed.engine, "rec_person")
    runtime.create("person", {"name": "Di", "code": "D-4"})
    model = runtime.model.entity("person")
    query = ListQuery([make_filter(model, runtime.registry, "code", "in", "A-1,D-4")], sort="id")
    assert [r["name"] for r in runtime.list("person", query).items] == ["Ann", "Di"]


def test_renaming_an_encrypted_field_keeps_values_and_hashes(sealed: Site) -> None:
    runtime = sealed.publish([person(sensitive=True, search_hash=True)])
    for record in PEOPLE:
        runtime.create("person", record)
    doc = with_ids(sealed, person(sensitive=True, search_hash=True))
    doc["fields"][3]["name"] = "badge"
    runtime = sealed.publish([doc])
    assert [r["badge"] for r in runtime.list("person", ListQuery(sort="id")).items] == ["A-1", "B-2", "C-3"]
    model = runtime.model.entity("person")
    query = ListQuery([make_filter(model, runtime.registry, "badge", "eq", "C-3")])
    assert [r["name"] for r in runtime.list("person", query).items] == ["Cy"]
    assert "badge__bidx" in sealed.columns("rec_person")


def test_retyping_an_encrypted_field_refuses_without_showing_values(sealed: Site) -> None:
    runtime = sealed.publish([person(sensitive=True, search_hash=True)])
    for record in PEOPLE:
        runtime.create("person", record)
    doc = with_ids(sealed, person(sensitive=True, search_hash=True))
    doc["fields"][3]["type"] = "integer"
    with pytest.raises(SchemaChangeRefused) as caught:
        sealed.publish([doc])
    shown = str(caught.value.as_dict())
    assert "3 record(s)" in shown and "A-1" not in shown and "[sensitive]" in shown


def test_switching_encryption_off_cannot_read_sealed_columns(
    engine: Engine, registry: FieldTypeRegistry
) -> None:
    sealed = sealed_site(engine, registry, keyring())
    runtime = sealed.publish([person(sensitive=True, search_hash=True)])
    runtime.create("person", PEOPLE[0])
    plain = sealed_site(engine, registry, None)
    with pytest.raises(SchemaChangeRefused, match="no encryption keys"):
        plain.svc.resync()
