"""Schema sync: publishing changes the record tables without losing data, or refuses and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.errors import NotFound, RecordInvalid, SchemaChangeRefused
from metamodel.records.query import ListQuery, parse_list_args
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.mmsupport import Site, entity, select_field


def fdoc(docs: dict[str, dict[str, Any]], entity_name: str, field_name: str) -> dict[str, Any]:
    """Return the (mutable) document of one field in a draft copy."""
    return next(f for f in docs[entity_name]["fields"] if f["name"] == field_name)


def values(runtime: RecordRuntime, entity_name: str, *names: str) -> list[tuple[Any, ...]]:
    """Return the given fields of every record, in id order."""
    items = runtime.list(entity_name, ListQuery(sort="id", limit=500)).items
    return [tuple(item.get(n, "<absent>") for n in names) for item in items]


def snapshot(site: Site, table: str) -> dict[str, Any]:
    """Everything a refused publish must leave alone."""
    return {
        "version": site.svc.active_version(),
        "versions": [v.number for v in site.svc.versions()],
        "columns": site.columns(table),
        "rows": site.rows(table),
        "states": site.column_states(),
        "tables": site.tables(),
    }


CONTACT = entity(
    "contact",
    [{"name": "name", "type": "text", "required": True}, {"name": "code", "type": "text"}],
    title_field="name",
)


def test_first_publish_creates_tables_with_system_and_field_columns(site: Site) -> None:
    info = site.publish_info([CONTACT, entity("line", [{"name": "qty", "type": "integer"}], is_child=True)])
    assert info.number == 1 and info.action == "publish"
    assert set(info.changes) >= {
        "created table rec_contact",
        "created table rec_line",
        "added field contact.name",
    }
    assert site.columns("rec_contact") == [
        "id",
        "record_no",
        "lock_version",
        "owner_id",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "name",
        "code",
    ]
    assert site.columns("rec_line")[-4:] == ["parent_id", "parent_field", "line_no", "qty"]


def test_add_field(site: Site) -> None:
    runtime = site.publish([CONTACT])
    ann = runtime.create("contact", {"name": "Ann", "code": "A1"})
    docs = site.draft_docs()
    docs["contact"]["fields"].append({"name": "age", "type": "integer"})
    info = site.publish_info(list(docs.values()))
    assert "added field contact.age" in info.changes
    runtime = site.runtime()
    assert runtime.get("contact", ann["id"])["age"] is None
    assert runtime.update("contact", ann["id"], {"age": "41"})["age"] == 41
    assert site.rows("rec_contact", "name", "code", "age") == [{"name": "Ann", "code": "A1", "age": 41}]


def test_rename_field_keeps_its_data(site: Site) -> None:
    runtime = site.publish([CONTACT])
    ids = [runtime.create("contact", {"name": n, "code": c})["id"] for n, c in (("Ann", "A1"), ("Bob", None))]
    docs = site.draft_docs()
    fdoc(docs, "contact", "code")["name"] = "reference"
    info = site.publish_info(list(docs.values()))
    assert "renamed field contact.code -> reference" in info.changes
    runtime = site.runtime()
    assert values(runtime, "contact", "name", "reference", "code") == [
        ("Ann", "A1", "<absent>"),
        ("Bob", None, "<absent>"),
    ]
    assert "code" not in site.columns("rec_contact")
    assert runtime.get("contact", ids[0])["reference"] == "A1"


def test_swapping_two_field_names_keeps_each_value_with_its_field(site: Site) -> None:
    runtime = site.publish(
        [entity("pair", [{"name": "first", "type": "text"}, {"name": "second", "type": "integer"}])]
    )
    runtime.create("pair", {"first": "L", "second": 7})
    docs = site.draft_docs()
    first, second = fdoc(docs, "pair", "first"), fdoc(docs, "pair", "second")
    first["name"], second["name"] = "second", "first"
    runtime = site.publish(list(docs.values()))
    assert values(runtime, "pair", "first", "second") == [(7, "L")]
    assert runtime.create("pair", {"first": "8", "second": "R"})["first"] == 8


def test_retype_text_to_integer_converts_values(site: Site, db_kind: str) -> None:
    runtime = site.publish([CONTACT])
    for name, code in (("Ann", "12"), ("Bob", None), ("Cy", " 7 "), ("Di", "1,000")):
        runtime.create("contact", {"name": name, "code": code})
    docs = site.draft_docs()
    fdoc(docs, "contact", "code")["type"] = "integer"
    info = site.publish_info(list(docs.values()))
    assert "converted contact.code to integer (4 records)" in info.changes
    runtime = site.runtime()
    assert values(runtime, "contact", "code") == [(12,), (None,), (7,), (1000,)]
    assert [r["code"] for r in site.rows("rec_contact", "code")] == [
        12,
        None,
        7,
        1000,
    ]  # a real integer column
    query = parse_list_args(
        runtime.model.entity("contact"), site.registry, {"code__gt": ["10"], "sort": ["code"]}
    )
    assert [r["name"] for r in runtime.list("contact", query).items] == ["Ann", "Di"]
    # the old column is kept as a backup until purge
    backups = [s for s in site.column_states() if s["status"] == "backup"]
    assert [(b["field_name"], b["signature"]) for b in backups] == [("code", "text")]
    assert [r[backups[0]["column_name"]] for r in site.rows("rec_contact", backups[0]["column_name"])] == [
        "12",
        None,
        "7",
        "1,000",
    ]


def test_retype_with_a_value_that_cannot_convert_is_refused_and_changes_nothing(site: Site) -> None:
    runtime = site.publish([CONTACT])
    ann = runtime.create("contact", {"name": "Ann", "code": "12"})
    bob = runtime.create("contact", {"name": "Bob", "code": "twelve"})
    cy = runtime.create("contact", {"name": "Cy", "code": "3.5"})
    before = snapshot(site, "rec_contact")
    docs = site.draft_docs()
    fdoc(docs, "contact", "code")["type"] = "integer"
    docs["contact"]["fields"].append({"name": "extra", "type": "text"})  # would have been added too
    with pytest.raises(SchemaChangeRefused) as caught:
        site.publish(list(docs.values()))
    error = caught.value
    assert error.message == (
        "2 record(s) of contact have code values that cannot become integer; change or clear them first"
    )
    assert error.extra["records"] == [
        {"id": bob["id"], "value": "twelve", "message": "must be a number"},
        {"id": cy["id"], "value": "3.5", "message": "must be a whole number"},
    ]
    assert error.extra["failed_count"] == 2
    assert [(p.path, p.code) for p in error.problems] == [("entity.contact.fields[1].type", "conversion")]
    assert error.as_dict()["code"] == "schema_change_refused"
    # Nothing changed: same version, same physical schema, same data, same compiled model.
    assert snapshot(site, "rec_contact") == before
    runtime = site.runtime()
    assert runtime.model.version == 1 and runtime.model.entity("contact").fields["code"].type == "text"
    assert values(runtime, "contact", "code") == [("12",), ("twelve",), ("3.5",)]
    assert runtime.get("contact", ann["id"])["code"] == "12"
    # Fix the data and the same change goes through.
    runtime.update("contact", bob["id"], {"code": "12"})
    runtime.update("contact", cy["id"], {"code": None})
    runtime = site.publish(list(docs.values()))
    assert values(runtime, "contact", "code", "extra") == [(12, None), (12, None), (None, None)]


def test_retype_to_a_normalising_type_stores_the_normal_form(site: Site) -> None:
    runtime = site.publish(
        [entity("person", [{"name": "mail", "type": "text"}, {"name": "tel", "type": "text"}])]
    )
    runtime.create("person", {"mail": "Ann@EXAMPLE.com", "tel": "+1 (555) 123-4567"})
    runtime.create("person", {"mail": "bob@example.com", "tel": "555 0000"})
    docs = site.draft_docs()
    fdoc(docs, "person", "mail")["type"] = "email"
    fdoc(docs, "person", "tel")["type"] = "phone"
    runtime = site.publish(list(docs.values()))
    assert site.rows("rec_person", "mail", "tel") == [
        {"mail": "Ann@example.com", "tel": "+15551234567"},
        {"mail": "bob@example.com", "tel": "5550000"},
    ]
    query = parse_list_args(runtime.model.entity("person"), site.registry, {"tel": ["+1 555 123 4567"]})
    assert [r["mail"] for r in runtime.list("person", query).items] == ["Ann@example.com"]
    docs["person"]["fields"][0]["type"] = "integer"
    with pytest.raises(SchemaChangeRefused) as caught:
        site.publish(list(docs.values()))
    assert [r["value"] for r in caught.value.extra["records"]] == ["Ann@example.com", "bob@example.com"]


def test_retype_between_choices_and_decimal_scales(site: Site) -> None:
    deal = entity("deal", [select_field("stage", ["a", "b", "c"]), {"name": "amount", "type": "decimal"}])
    runtime = site.publish([deal])
    runtime.create("deal", {"stage": "b", "amount": "10.50"})
    runtime.create("deal", {"stage": None, "amount": "0.25"})
    docs = site.draft_docs()
    fdoc(docs, "deal", "stage")["type"] = "multi_select"
    fdoc(docs, "deal", "amount")["scale"] = 3
    runtime = site.publish(list(docs.values()))
    assert values(runtime, "deal", "stage", "amount") == [(["b"], "10.500"), ([], "0.250")]
    query = parse_list_args(runtime.model.entity("deal"), site.registry, {"stage__has_any": ["b,c"]})
    assert len(runtime.list("deal", query).items) == 1
    fdoc(docs, "deal", "amount")["scale"] = 1
    with pytest.raises(SchemaChangeRefused) as caught:
        site.publish(list(docs.values()))
    assert caught.value.extra["records"] == [
        {"id": 2, "value": "0.250", "message": "must have at most 1 decimal places"}
    ]
    assert values(site.runtime(), "deal", "amount") == [("10.500",), ("0.250",)]


def test_remove_field_then_roll_back_restores_values(site: Site) -> None:
    runtime = site.publish([CONTACT])
    ann = runtime.create("contact", {"name": "Ann", "code": "A1"})
    docs = site.draft_docs()
    code_id = fdoc(docs, "contact", "code")["id"]
    docs["contact"]["fields"] = [f for f in docs["contact"]["fields"] if f["name"] != "code"]
    info = site.publish_info(list(docs.values()))
    assert "set aside field contact.code (data kept until purge)" in info.changes
    runtime = site.runtime()
    assert "code" not in runtime.get("contact", ann["id"])
    assert "code" not in site.columns("rec_contact") and f"rm_{code_id}" in site.columns("rec_contact")
    bob = runtime.create("contact", {"name": "Bob"})  # created while the field is gone
    runtime.update("contact", ann["id"], {"name": "Ann B"})
    info = site.svc.rollback(1, "tester")
    assert info.action == "rollback" and info.source_version == 1 and info.number == 3
    assert "restored field contact.code -> code" in info.changes
    runtime = site.runtime()
    assert runtime.get("contact", ann["id"])["code"] == "A1"
    assert runtime.get("contact", ann["id"])["name"] == "Ann B"
    assert runtime.get("contact", bob["id"])["code"] is None
    assert runtime.update("contact", bob["id"], {"code": "B2"})["code"] == "B2"
    assert site.svc.draft().entity("contact").field("code") is not None  # the draft follows the rollback


def test_unique_with_duplicate_data_is_refused_naming_the_values(site: Site) -> None:
    runtime = site.publish([CONTACT])
    for name, code in (
        ("a", "X"),
        ("b", "Y"),
        ("c", "X"),
        ("d", None),
        ("e", None),
        ("f", "Y"),
        ("g", "X"),
        ("h", "Z"),
    ):
        runtime.create("contact", {"name": name, "code": code})
    before = snapshot(site, "rec_contact")
    docs = site.draft_docs()
    fdoc(docs, "contact", "code")["unique"] = True
    with pytest.raises(SchemaChangeRefused) as caught:
        site.publish(list(docs.values()))
    assert caught.value.message == "contact: existing records repeat values of (code); make them unique first"
    assert sorted(caught.value.extra["records"], key=lambda r: r["values"]) == [
        {"values": ["X"], "count": 3, "first_id": 1},
        {"values": ["Y"], "count": 2, "first_id": 2},
    ]
    assert [p.path for p in caught.value.problems] == ["entity.contact"]
    assert snapshot(site, "rec_contact") == before
    # Once the duplicates are gone (empty values never clash) the index is created and enforced.
    for record_id, code in ((3, "X3"), (6, "Y6"), (7, None)):
        runtime.update("contact", record_id, {"code": code})
    info = site.publish_info(list(docs.values()))
    assert "created unique index on rec_contact (code)" in info.changes
    runtime = site.runtime()
    with pytest.raises(RecordInvalid) as refused:
        runtime.create("contact", {"name": "i", "code": "X"})
    assert [p.message for p in refused.value.problems] == ["must be unique; contact 1 already has this value"]


def test_unique_on_decimals_names_values_as_entered(site: Site) -> None:
    runtime = site.publish([entity("price", [{"name": "amount", "type": "decimal"}])])
    for amount in ("10.50", "10.5", "3"):
        runtime.create("price", {"amount": amount})
    docs = site.draft_docs()
    fdoc(docs, "price", "amount")["unique"] = True
    with pytest.raises(SchemaChangeRefused) as caught:
        site.publish(list(docs.values()))
    assert caught.value.extra["records"] == [{"values": ["10.50"], "count": 2, "first_id": 1}]


def test_indexes_follow_the_definition(site: Site) -> None:
    import sqlalchemy as sa

    def indexes() -> dict[str, tuple[list[str], bool]]:
        found = sa.inspect(site.engine).get_indexes("rec_contact")
        return {
            str(i["name"]): ([str(c) for c in i["column_names"]], bool(i["unique"]))
            for i in found
            if str(i["name"]).startswith(("ix_", "ux_"))
        }

    site.publish([CONTACT])
    docs = site.draft_docs()
    code_id = fdoc(docs, "contact", "code")["id"]
    assert f"ix_{code_id}" not in indexes()
    fdoc(docs, "contact", "code")["indexed"] = True
    site.publish(list(docs.values()))
    assert indexes()[f"ix_{code_id}"] == (["code", "id"], False)
    fdoc(docs, "contact", "code")["name"] = "ref"  # a rename keeps the (id-named) index
    site.publish(list(docs.values()))
    assert indexes()[f"ix_{code_id}"] == (["ref", "id"], False)
    fdoc(docs, "contact", "ref")["indexed"] = False
    docs["contact"]["indexes"] = [{"fields": ["name", "ref"], "unique": True}]
    site.publish(list(docs.values()))
    found = indexes()
    assert f"ix_{code_id}" not in found
    assert [
        v for k, v in found.items() if k.startswith("ux_") and k != f"ux_{docs['contact']['id']}_record_no"
    ] == [(["name", "ref"], True)]


def test_entity_rename_keeps_records_and_links(site: Site) -> None:
    company = entity(
        "company",
        [{"name": "name", "type": "text"}, {"name": "parent", "type": "link", "target": "company"}],
        title_field="name",
    )
    person = entity(
        "person",
        [
            {"name": "name", "type": "text"},
            {"name": "employer", "type": "link", "target": "company", "on_delete": "cascade"},
        ],
    )
    runtime = site.publish([company, person])
    acme = runtime.create("company", {"name": "Acme"})
    sub = runtime.create("company", {"name": "Acme Sub", "parent": acme["id"]})
    ann = runtime.create("person", {"name": "Ann", "employer": sub["id"]})
    docs = site.draft_docs()
    docs["organisation"] = docs.pop("company")
    docs["organisation"]["name"] = "organisation"
    fdoc(docs, "organisation", "parent")["target"] = "organisation"
    fdoc(docs, "person", "employer")["target"] = "organisation"
    info = site.publish_info(list(docs.values()))
    assert "renamed table rec_company -> rec_organisation" in info.changes
    assert "rec_company" not in site.tables()
    runtime = site.runtime()
    with pytest.raises(NotFound):
        runtime.get("company", acme["id"])
    assert runtime.get("organisation", sub["id"])["parent"] == acme["id"]
    got = runtime.get("person", ann["id"])
    assert (got["employer"], got["_titles"]) == (sub["id"], {"employer": "Acme Sub"})
    # the database constraint followed the rename too: cascade still deletes the person
    runtime.delete("organisation", sub["id"])
    with pytest.raises(NotFound):
        runtime.get("person", ann["id"])


def test_swapping_two_entity_names(site: Site) -> None:
    runtime = site.publish(
        [
            entity("cat", [{"name": "name", "type": "text"}], title_field="name"),
            entity(
                "dog", [{"name": "name", "type": "text"}, {"name": "friend", "type": "link", "target": "cat"}]
            ),
        ]
    )
    tom = runtime.create("cat", {"name": "Tom"})
    runtime.create("dog", {"name": "Rex", "friend": tom["id"]})
    docs = site.draft_docs()
    cat, dog = docs["cat"], docs["dog"]
    cat["name"], dog["name"] = "dog", "cat"
    dog["fields"][1]["target"] = "dog"  # still the entity Tom belongs to, now called dog
    runtime = site.publish([cat, dog])
    assert values(runtime, "dog", "name") == [("Tom",)]
    assert values(runtime, "cat", "name", "friend") == [("Rex", tom["id"])]
    assert runtime.get("cat", 1)["_titles"] == {"friend": "Tom"}


def test_entity_removal_and_restore_by_rollback(site: Site) -> None:
    runtime = site.publish([CONTACT, entity("note", [{"name": "text", "type": "text"}])])
    note = runtime.create("note", {"text": "keep me"})
    entity_id = site.draft_docs()["note"]["id"]
    info = site.publish_info([site.draft_docs()["contact"]])
    assert "set aside table rec_note (data kept until purge)" in info.changes
    assert "rec_note" not in site.tables() and f"rm_{entity_id}" in site.tables()
    with pytest.raises(NotFound, match="entity 'note' does not exist"):
        site.runtime().get("note", note["id"])
    info = site.svc.rollback(1, "tester")
    assert f"restored table rm_{entity_id} -> rec_note" in info.changes
    runtime = site.runtime()
    assert runtime.get("note", note["id"])["text"] == "keep me"
    assert runtime.create("note", {"text": "new"})["id"] == note["id"] + 1


def test_an_entity_can_be_recreated_under_a_removed_name(site: Site) -> None:
    runtime = site.publish([CONTACT])
    runtime.create("contact", {"name": "old"})
    site.publish([entity("other", [{"name": "x", "type": "text"}])])
    runtime = site.publish(
        [
            entity("contact", [{"name": "name", "type": "text"}]),
            entity("other", [{"name": "x", "type": "text"}]),
        ]
    )
    assert runtime.create("contact", {"name": "new"})["id"] == 1
    assert values(runtime, "contact", "name") == [("new",)]


def test_purge_drops_set_aside_columns_and_tables(site: Site) -> None:
    company = entity(
        "company",
        [
            {"name": "name", "type": "text"},
            {"name": "parent", "type": "link", "target": "company", "on_delete": "set_null"},
        ],
    )
    person = entity(
        "person",
        [
            {"name": "name", "type": "text"},
            {"name": "age", "type": "text"},
            {"name": "employer", "type": "link", "target": "company", "on_delete": "cascade"},
        ],
    )
    runtime = site.publish([company, person, entity("note", [{"name": "text", "type": "text"}])])
    acme = runtime.create("company", {"name": "Acme"})
    runtime.create("company", {"name": "Sub", "parent": acme["id"]})
    ann = runtime.create("person", {"name": "Ann", "age": "40", "employer": acme["id"]})
    docs = site.draft_docs()
    docs["company"]["fields"] = [
        f for f in docs["company"]["fields"] if f["name"] != "parent"
    ]  # a link column
    fdoc(docs, "person", "age")["type"] = "integer"  # leaves a backup column
    del docs["note"]
    site.publish(list(docs.values()))
    assert {s["status"] for s in site.column_states()} == {"active", "removed", "backup"}
    changes = site.svc.purge()
    assert len(changes) == 3 and any(c.startswith("dropped removed table rm_") for c in changes)
    assert {s["status"] for s in site.column_states()} == {"active"}
    assert site.columns("rec_company")[-1:] == ["name"]
    assert [c for c in site.columns("rec_person") if c.startswith(("bk", "rm_"))] == []
    assert not [t for t in site.tables() if t.startswith("rm_")]
    # Purging touched no record data: linked people (cascade) and the converted values survive.
    runtime = site.runtime()
    assert values(runtime, "person", "name", "age", "employer") == [("Ann", 40, acme["id"])]
    assert values(runtime, "company", "name") == [("Acme",), ("Sub",)]
    runtime.delete("company", acme["id"])  # and the remaining constraints still work
    with pytest.raises(NotFound):
        runtime.get("person", ann["id"])
    assert site.svc.purge() == []
    # A purged field cannot come back with data, but rolling back still works (the column is re-added).
    runtime = site.rollback(1)
    assert values(runtime, "company", "name", "parent") == [("Sub", None)]


def test_rollback_two_versions_and_forward_again_loses_nothing(site: Site) -> None:
    # v1: amount is text
    v1 = entity("deal", [{"name": "title", "type": "text"}, {"name": "amount", "type": "text"}])
    runtime = site.publish([v1])
    d1 = runtime.create("deal", {"title": "one", "amount": "100"})["id"]
    # v2: add a note
    docs = site.draft_docs()
    docs["deal"]["fields"].append({"name": "note", "type": "text"})
    runtime = site.publish(list(docs.values()))
    d2 = runtime.create("deal", {"title": "two", "amount": "200", "note": "n2"})["id"]
    runtime.update("deal", d1, {"note": "n1"})
    # v3: rename amount to value and make it an integer, in one publish
    docs = site.draft_docs()
    fdoc(docs, "deal", "amount").update(name="value", type="integer")
    runtime = site.publish(list(docs.values()))
    d3 = runtime.create("deal", {"title": "three", "value": 300, "note": "n3"})["id"]
    runtime.update("deal", d2, {"value": 250})
    assert values(runtime, "deal", "title", "value", "note") == [
        ("one", 100, "n1"),
        ("two", 250, "n2"),
        ("three", 300, "n3"),
    ]
    # back to v1: amount is text again, the note is set aside
    runtime = site.rollback(1)
    assert site.svc.active_version() == 4
    assert values(runtime, "deal", "title", "amount", "note", "value") == [
        ("one", "100", "<absent>", "<absent>"),
        ("two", "250", "<absent>", "<absent>"),
        ("three", "300", "<absent>", "<absent>"),
    ]
    d4 = runtime.create("deal", {"title": "four", "amount": "400"})["id"]
    runtime.update("deal", d1, {"amount": "101"})
    # forward to v2, then to v3 again
    runtime = site.rollback(2)
    assert values(runtime, "deal", "title", "amount", "note") == [
        ("one", "101", "n1"),
        ("two", "250", "n2"),
        ("three", "300", "n3"),
        ("four", "400", None),
    ]
    runtime = site.rollback(3)
    assert values(runtime, "deal", "title", "value", "note") == [
        ("one", 101, "n1"),
        ("two", 250, "n2"),
        ("three", 300, "n3"),
        ("four", 400, None),
    ]
    assert [d1, d2, d3, d4] == [1, 2, 3, 4]
    assert [(v.number, v.action, v.source_version) for v in site.svc.versions()] == [
        (6, "rollback", 3),
        (5, "rollback", 2),
        (4, "rollback", 1),
        (3, "publish", None),
        (2, "publish", None),
        (1, "publish", None),
    ]
