"""Sensitive fields are stored encrypted and still behave: reads, writes, lines, filters, uniqueness."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from metamodel.errors import BadQuery, MetadataInvalid, RecordInvalid
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.records.query import ListQuery, make_filter, parse_list_args
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.crypto.cryptosupport import keyring, raw_column, raw_dump, sealed_site
from tests.metamodel.mmsupport import Site, entity

LINE = entity("contact_note", [{"name": "text", "type": "text", "sensitive": True}], is_child=True)
CONTACT = entity(
    "contact",
    [
        {"name": "name", "type": "text"},
        {"name": "email", "type": "email", "sensitive": True, "search_hash": True, "unique": True},
        {"name": "phone", "type": "phone", "sensitive": True, "search_hash": True},
        {"name": "id_number", "type": "text", "sensitive": True},
        {"name": "born", "type": "date", "sensitive": True},
        {"name": "salary", "type": "decimal", "scale": 2, "sensitive": True},
        {"name": "children", "type": "integer", "sensitive": True},
        {"name": "notes", "type": "child_table", "child_entity": "contact_note"},
    ],
    title_field="name",
)
ALICE = {
    "name": "Alice",
    "email": "Alice.Secret@Example.com",
    "phone": "13812345678",
    "id_number": "ID-XJ-77001",
    "born": "1988-04-01",
    "salary": "91234.50",
    "children": 3,
    "notes": [{"text": "prefers-whispers-42"}],
}
SECRETS = (
    "Alice.Secret",
    "alice.secret",
    "13812345678",
    "ID-XJ-77001",
    "1988-04-01",
    "91234",
    "prefers-whispers-42",
)


@pytest.fixture
def sealed(engine: Engine, registry: FieldTypeRegistry) -> Site:
    return sealed_site(engine, registry, keyring())


@pytest.fixture
def contacts(sealed: Site) -> RecordRuntime:
    return sealed.publish([CONTACT, LINE])


def names(runtime: RecordRuntime, query: ListQuery) -> list[str]:
    return [r["name"] for r in runtime.list("contact", query).items]


def args(runtime: RecordRuntime, **query: str) -> ListQuery:
    model = runtime.model.entity("contact")
    return parse_list_args(model, runtime.registry, {k: [v] for k, v in query.items()})


def test_values_round_trip_and_are_ciphertext_in_the_table(contacts: RecordRuntime, sealed: Site) -> None:
    created = contacts.create("contact", ALICE)
    assert created["email"] == "Alice.Secret@example.com"  # the e-mail type normalises the domain
    assert created["born"] == "1988-04-01" and created["salary"] == "91234.50" and created["children"] == 3
    assert created["notes"][0]["text"] == "prefers-whispers-42"
    again = contacts.get("contact", created["id"])
    assert {k: again[k] for k in ("phone", "id_number", "born", "salary")} == {
        "phone": "13812345678",
        "id_number": "ID-XJ-77001",
        "born": "1988-04-01",
        "salary": "91234.50",
    }
    for column in ("email", "phone", "id_number", "born", "salary", "children"):
        assert all(str(v).startswith("v1:k0:") for v in raw_column(sealed.engine, "rec_contact", column))
    dump = raw_dump(sealed.engine, "rec_contact") + raw_dump(sealed.engine, "rec_contact_note")
    assert "Alice" in dump  # the non-sensitive name is stored as it is
    for secret in SECRETS:
        assert secret not in dump
    updated = contacts.update("contact", created["id"], {"phone": "13900001111", "children": None})
    assert updated["phone"] == "13900001111" and updated["children"] is None
    assert raw_column(sealed.engine, "rec_contact", "children") == [None]
    assert "13900001111" not in raw_dump(sealed.engine, "rec_contact")


def test_exact_filters_use_the_search_hash(contacts: RecordRuntime) -> None:
    contacts.create("contact", ALICE)
    contacts.create("contact", {"name": "Bob", "email": "bob@example.com", "phone": "13900002222"})
    contacts.create("contact", {"name": "Carol"})
    assert names(contacts, args(contacts, email="alice.secret@EXAMPLE.com")) == ["Alice"]  # case-insensitive
    assert names(contacts, args(contacts, phone__in="13900002222,13812345678", sort="id")) == ["Alice", "Bob"]
    assert names(contacts, args(contacts, phone__ne="13812345678", sort="id")) == ["Bob", "Carol"]
    assert names(contacts, args(contacts, email__isnull="true")) == ["Carol"]
    assert names(contacts, args(contacts, id_number__isnull="false")) == ["Alice"]
    assert names(contacts, args(contacts, email="nobody@example.com")) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"email__contains": "alice"}, "only exact matches"),
        ({"id_number": "ID-XJ-77001"}, "no search hash"),
        ({"salary__gt": "10"}, "no search hash"),
        ({"sort": "email"}, "cannot be sorted"),
    ],
)
def test_other_operators_and_sorting_are_refused_clearly(
    contacts: RecordRuntime, query: dict[str, str], message: str
) -> None:
    with pytest.raises(BadQuery) as caught:
        args(contacts, **query)
    assert message in caught.value.problems[0].message
    assert "stored encrypted" in caught.value.problems[0].message
    assert caught.value.status == 400


def test_free_text_search_matches_whole_hashed_values(sealed: Site) -> None:
    doc = entity(
        "lead",
        [
            {"name": "name", "type": "text", "searchable": True},
            {"name": "phone", "type": "phone", "sensitive": True, "search_hash": True, "searchable": True},
        ],
    )
    runtime = sealed.publish([doc])
    runtime.create("lead", {"name": "Ann", "phone": "13812345678"})
    runtime.create("lead", {"name": "Ben 1381", "phone": "13700000000"})
    found = runtime.list("lead", ListQuery(search="13812345678")).items
    assert [r["name"] for r in found] == ["Ann"]
    assert [r["name"] for r in runtime.list("lead", ListQuery(search="1381")).items] == ["Ben 1381"]


def test_search_over_an_unhashed_encrypted_title_is_refused(sealed: Site) -> None:
    runtime = sealed.publish(
        [entity("secretive", [{"name": "code", "type": "text", "sensitive": True}], title_field="code")]
    )
    with pytest.raises(BadQuery, match="free-text search needs"):
        runtime.list("secretive", ListQuery(search="abc"))


def test_uniqueness_goes_through_the_hash_and_never_echoes_the_value(
    contacts: RecordRuntime, sealed: Site
) -> None:
    contacts.create("contact", ALICE)
    with pytest.raises(RecordInvalid) as caught:
        contacts.create("contact", {"name": "Imposter", "email": "alice.secret@example.com"})
    problem = caught.value.problems[0]
    assert (problem.path, problem.code) == ("email", "unique")
    assert "alice" not in str(caught.value.as_dict()).lower()
    index_columns = {tuple(c for c in ix["column_names"]) for ix in _indexes(sealed, "rec_contact")}
    assert ("email__bidx",) in index_columns


def _indexes(site: Site, table: str) -> list[Any]:
    import sqlalchemy as sa

    return list(sa.inspect(site.engine).get_indexes(table))


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(contacts: RecordRuntime, sealed: Site) -> None:
    created = contacts.create("contact", ALICE)
    with sealed.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE rec_contact SET id_number = phone")
    with pytest.raises(ValueError, match="integrity"):
        contacts.get("contact", created["id"])


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            {"name": "owner", "type": "link", "target": "contact", "sensitive": True},
            "cannot be stored encrypted",
        ),
        ({"name": "tax_id", "type": "text", "sensitive": True, "unique": True}, "search_hash"),
        ({"name": "tax_id", "type": "text", "sensitive": True, "searchable": True}, "search_hash"),
        ({"name": "tax_id", "type": "text", "search_hash": True}, "only a sensitive"),
    ],
)
def test_publish_refuses_what_an_encrypted_field_cannot_do(
    sealed: Site, field: dict[str, Any], message: str
) -> None:
    with pytest.raises(MetadataInvalid) as caught:
        sealed.publish([CONTACT, LINE, entity("account", [{"name": "name", "type": "text"}, field])])
    assert any(message in p.message for p in caught.value.problems)


def test_an_index_over_an_unhashed_encrypted_field_is_refused(sealed: Site) -> None:
    doc = entity(
        "person",
        [{"name": "a", "type": "text", "sensitive": True}, {"name": "b", "type": "text"}],
        indexes=[{"fields": ["a", "b"], "unique": True}],
    )
    with pytest.raises(MetadataInvalid, match="problem"):
        sealed.publish([doc])


def test_without_a_search_hash_key_hashed_fields_are_refused(
    engine: Engine, registry: FieldTypeRegistry
) -> None:
    site = sealed_site(engine, registry, keyring(search=None))
    with pytest.raises(MetadataInvalid) as caught:
        site.publish([CONTACT, LINE])
    assert any("CRM_SEARCH_HASH_KEY" in p.message for p in caught.value.problems)


def test_filter_values_are_normalised_before_hashing(contacts: RecordRuntime) -> None:
    contacts.create("contact", ALICE)
    model = contacts.model.entity("contact")
    query = ListQuery([make_filter(model, contacts.registry, "phone", "eq", " 138 1234 5678 ")])
    assert names(contacts, query) == ["Alice"]  # the phone type drops spaces before the hash is taken
    born = contacts.get("contact", 1)["born"]
    assert dt.date.fromisoformat(born) == dt.date(1988, 4, 1)
    assert Decimal(contacts.get("contact", 1)["salary"]) == Decimal("91234.50")


def test_workflow_states_and_time_triggers_cannot_use_encrypted_fields(registry: FieldTypeRegistry) -> None:
    from metamodel.crypto.checks import check_encryption
    from metamodel.crypto.sealing import Sealing
    from tests.metamodel.mmsupport import as_bundle

    doc = entity(
        "visit",
        [
            {"name": "status", "type": "text", "sensitive": True},
            {"name": "due_on", "type": "date", "sensitive": True},
            {"name": "open_on", "type": "date"},
        ],
    )
    trigger = {
        "name": "remind",
        "entity": "visit",
        "event": "time",
        "schedule": {"relative_to": "due_on"},
        "actions": [],
    }
    plain_trigger = {**trigger, "name": "plain", "schedule": {"relative_to": "open_on"}}
    flow = {"name": "visit_flow", "entity": "visit", "state_field": "status", "states": [], "transitions": []}
    bundle = as_bundle(
        [doc], trigger={"remind": trigger, "plain": plain_trigger}, workflow={"visit_flow": flow}
    )
    paths = {p.path for p in check_encryption(bundle, registry, Sealing(keyring()))}
    assert paths == {"trigger.remind.schedule.relative_to", "workflow.visit_flow.state_field"}
    assert check_encryption(bundle, registry, Sealing(None)) == []
