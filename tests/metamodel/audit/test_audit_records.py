"""Record changes are logged in their own transaction, with who, when, from where and masked values."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from metamodel.errors import Conflict
from metamodel.records.hooks import Actor, RecordHooks, SaveEvent
from metamodel.records.query import ListQuery
from tests.metamodel.audit.auditsupport import audited_runtime, entries
from tests.metamodel.mmsupport import T0, Site, entity

ALICE = Actor(7, "alice", origin="192.0.2.10")
LINE = entity(
    "contact_line",
    [{"name": "note", "type": "text"}, {"name": "mobile", "type": "phone", "sensitive": True}],
    is_child=True,
)
CONTACT = entity(
    "contact",
    [
        {"name": "name", "type": "text", "required": True},
        {"name": "email", "type": "email", "sensitive": True},
        {"name": "phone", "type": "phone", "sensitive": True},
        {"name": "id_number", "type": "text", "sensitive": True},
        {"name": "api_token", "type": "text"},
        {"name": "age", "type": "integer"},
        {"name": "lines", "type": "child_table", "child_entity": "contact_line"},
    ],
)
CLEAR = {
    "email": "alice@example.com",
    "phone": "13812341234",
    "id_number": "110101199003071234",
    "api_token": "tok-s3cr3t-value",
}


def test_create_update_delete_are_logged_with_before_and_after(site: Site) -> None:
    site.publish([LINE, CONTACT])
    runtime = audited_runtime(site)
    record = runtime.create("contact", {"name": "Ann", "age": 30, "lines": [{"note": "hi"}]}, ALICE)
    site.clock.now = T0.replace(hour=10)
    runtime.update("contact", record["id"], {"age": 31, "name": "Ann"}, Actor(8, "bob"))
    runtime.delete("contact", record["id"], ALICE)
    created, updated, deleted = entries(site.engine)

    assert (created["action"], created["entity"], created["record_id"]) == (
        "record.create",
        "contact",
        record["id"],
    )
    assert (created["actor_id"], created["actor_name"], created["origin"], created["at"]) == (
        7,
        "alice",
        "192.0.2.10",
        T0,
    )
    assert created["changes"]["name"] == [None, "Ann"] and created["changes"]["age"] == [None, 30]
    assert created["changes"]["email"] == [None, None]  # full values on create, empty ones included
    [line] = created["changes"]["lines"][1]
    assert line["note"] == "hi"

    # An update lists only what changed; the actor without an address gets the runtime's origin.
    assert updated["action"] == "record.update" and updated["changes"] == {"age": [30, 31]}
    assert (updated["actor_id"], updated["actor_name"], updated["origin"]) == (8, "bob", "10.1.2.3")
    assert updated["at"] == T0.replace(hour=10) and "age" in updated["summary"]

    assert deleted["action"] == "record.delete" and deleted["changes"]["name"] == ["Ann", None]
    assert deleted["changes"]["age"] == [31, None] and deleted["changes"]["lines"][0][0]["note"] == "hi"
    assert len(entries(site.engine, entity="contact_line")) == 0  # lines are part of their parent's entry


def test_changed_lines_are_logged_and_the_system_is_named(site: Site) -> None:
    site.publish([LINE, CONTACT])
    runtime = audited_runtime(site)
    record = runtime.create("contact", {"name": "Ann", "lines": [{"note": "a"}]})
    line_id = record["lines"][0]["id"]
    runtime.update("contact", record["id"], {"lines": [{"id": line_id, "note": "b"}]})
    _, updated = entries(site.engine)
    before, after = updated["changes"]["lines"]
    assert [x["note"] for x in before] == ["a"] and [x["note"] for x in after] == ["b"]
    assert (updated["actor_id"], updated["actor_name"]) == (None, "system")


def test_sensitive_and_secret_values_are_never_stored_in_clear(site: Site) -> None:
    site.publish([LINE, CONTACT])
    runtime = audited_runtime(site)
    record = runtime.create("contact", {"name": "Ann", **CLEAR, "lines": [{"mobile": "13900001111"}]}, ALICE)
    runtime.update("contact", record["id"], {"phone": "13987654321", "email": "zed@example.org"}, ALICE)
    runtime.delete("contact", record["id"], ALICE)
    rows = entries(site.engine)
    assert len(rows) == 3
    created = rows[0]["changes"]
    assert created["phone"] == [None, "138****1234"] and created["email"] == [None, "a***@example.com"]
    assert created["id_number"] == [None, "110***********1234"] and created["api_token"] == [
        None,
        "[redacted]",
    ]
    assert created["lines"][1][0]["mobile"] == "139****1111"
    assert rows[1]["changes"] == {
        "phone": ["138****1234", "139****4321"],
        "email": ["a***@example.com", "z***@example.org"],
    }
    with site.engine.connect() as conn:
        raw = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM sys_audit")) for v in row)
    for clear in [*CLEAR.values(), "13900001111", "13987654321", "zed@example.org"]:
        assert clear not in raw
        assert all(clear not in json.dumps(row, default=str) for row in rows)


def test_a_rolled_back_save_leaves_no_entry(site: Site) -> None:
    site.publish([LINE, CONTACT])
    hooks = RecordHooks()
    runtime = audited_runtime(site, hooks)
    kept = runtime.create("contact", {"name": "Kept"})

    def refuse(event: SaveEvent) -> None:
        raise Conflict("refused after the audit hook ran")

    hooks.after_save.append(refuse)
    with pytest.raises(Conflict):
        runtime.create("contact", {"name": "Lost"})
    with pytest.raises(Conflict):
        runtime.update("contact", kept["id"], {"name": "Changed"})
    # In a caller's transaction that rolls back, the entry goes with it too.
    hooks.after_save.remove(refuse)
    with pytest.raises(RuntimeError), site.engine.begin() as conn:
        runtime.create("contact", {"name": "Also lost"}, conn=conn)
        raise RuntimeError("caller gives up")
    assert [(e["action"], e["record_id"]) for e in entries(site.engine)] == [("record.create", kept["id"])]
    assert [r["name"] for r in runtime.list("contact", ListQuery()).items] == ["Kept"]
