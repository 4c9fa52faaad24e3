"""MetadataService: drafts, publishing numbered versions, the version list, diffs and rollback."""

from __future__ import annotations

import datetime as dt

import pytest

from metamodel.definitions import Bundle
from metamodel.errors import MetadataInvalid, NotFound, SchemaChangeRefused
from metamodel.versions import MetadataService, StaleDraft
from tests.metamodel.mmsupport import T0, Site, as_bundle, entity, select_field

DEAL = entity(
    "deal", [{"name": "title", "type": "text"}, select_field("stage", ["open", "won"])], title_field="title"
)


def test_nothing_is_published_at_first(site: Site) -> None:
    assert site.svc.active_version() is None
    assert site.svc.versions() == []
    assert site.svc.draft().docs("entity") == {}
    model = site.svc.model()
    assert (model.version, model.entities) == (0, {})


def test_drafts_are_edited_document_by_document(site: Site) -> None:
    svc = site.svc
    svc.put_document("entity", "deal", DEAL, "ann")
    svc.put_document(
        "form", "deal_form", {"entity": "deal", "tabs": [{"sections": [{"fields": ["title"]}]}]}, "ann"
    )
    draft = svc.draft()
    assert sorted(draft.docs("entity")) == ["deal"] and sorted(draft.docs("form")) == ["deal_form"]
    ids = {f["name"]: f["id"] for f in draft.docs("entity")["deal"]["fields"]}
    # Storing the document again keeps the ids of fields matched by name; new fields get new ids.
    again = svc.put_document(
        "entity", "deal", entity("deal", [*DEAL["fields"], {"name": "amount", "type": "integer"}]), "bob"
    )
    assert {f["name"]: f["id"] for f in again["fields"]} == {**ids, "amount": again["fields"][2]["id"]}
    assert again["id"] == draft.docs("entity")["deal"]["id"]
    svc.delete_document("form", "deal_form")
    assert svc.draft().docs("form") == {}
    with pytest.raises(NotFound, match="the draft has no form 'deal_form'"):
        svc.delete_document("form", "deal_form")
    with pytest.raises(NotFound, match="unknown document kind 'chart'"):
        svc.put_document("chart", "r", {}, "ann")
    assert svc.active_version() is None


def test_put_document_leaves_the_callers_document_as_it_was(site: Site) -> None:
    doc = entity("deal", [{"name": "title", "type": "text"}])
    before = repr(doc)
    stored = site.svc.put_document("entity", "deal", doc, "ann")
    # The stored copy has ids filled in; the caller's dict (often a shared constant) is untouched.
    assert "id" in stored["fields"][0] and repr(doc) == before


def test_publish_stores_a_numbered_version_with_its_metadata(site: Site) -> None:
    site.clock.now = T0
    site.svc.replace_draft(as_bundle([DEAL]), "ann")
    first = site.svc.publish("ann", "first cut")
    assert (first.number, first.created_by, first.comment, first.action, first.source_version) == (
        1,
        "ann",
        "first cut",
        "publish",
        None,
    )
    assert "created table rec_deal" in first.changes
    assert abs(first.created_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    second = site.svc.publish("bob")  # publishing an unchanged draft is allowed and numbered
    assert (second.number, second.changes) == (2, ())
    assert site.svc.active_version() == 2
    listed = site.svc.versions()
    assert [(v.number, v.created_by, v.comment, v.action) for v in listed] == [
        (2, "bob", "", "publish"),
        (1, "ann", "first cut", "publish"),
    ]
    assert listed[1].as_dict() == {
        "number": 1,
        "created_at": first.created_at.isoformat().replace("+00:00", "Z"),
        "created_by": "ann",
        "comment": "first cut",
        "action": "publish",
        "source_version": None,
        "changes": [],
    }
    stored = site.svc.bundle_of(1).docs("entity")["deal"]
    assert [f["name"] for f in stored["fields"]] == ["title", "stage"]
    with pytest.raises(NotFound, match="version 9 does not exist"):
        site.svc.bundle_of(9)


def test_model_is_compiled_from_the_active_version_and_cached(site: Site) -> None:
    site.publish([DEAL])
    model = site.svc.model()
    assert model.version == 1 and sorted(model.entities) == ["deal"]
    assert site.svc.model() is model
    assert [c.name for c in model.entity("deal").table.c][-2:] == ["title", "stage"]
    with pytest.raises(NotFound, match="entity 'nope' does not exist"):
        model.entity("nope")
    docs = site.draft_docs()
    docs["deal"]["fields"].append({"name": "amount", "type": "integer"})
    site.publish(list(docs.values()))
    newer = site.svc.model()
    assert newer is not model and newer.version == 2 and "amount" in newer.entity("deal").fields
    assert "amount" not in model.entity("deal").fields  # an old model is never changed in place
    # another service on the same database sees the same active version
    assert MetadataService(site.engine, site.registry).model().version == 2


def test_discard_draft_returns_to_the_active_version(site: Site) -> None:
    site.publish([DEAL])
    site.svc.put_document("entity", "note", entity("note", [{"name": "text", "type": "text"}]), "ann")
    assert sorted(site.svc.draft().docs("entity")) == ["deal", "note"]
    site.svc.discard_draft()
    assert sorted(site.svc.draft().docs("entity")) == ["deal"]
    assert site.svc.draft().to_json() == site.svc.bundle_of(1).to_json()


def test_replace_draft_checks_every_document(site: Site) -> None:
    bad = Bundle.from_json({"entity": {"deal": {"fields": "none"}}, "form": {"f": {"name": "f"}}})
    with pytest.raises(MetadataInvalid) as caught:
        site.svc.replace_draft(bad, "ann")
    assert {p.path for p in caught.value.problems} == {"entity.deal", "entity.deal.fields", "form.f"}
    assert site.svc.draft().docs("entity") == {}


def test_diff_between_versions_and_the_draft(site: Site) -> None:
    site.publish([DEAL, entity("note", [{"name": "text", "type": "text"}])])
    docs = site.draft_docs()
    title_id = docs["deal"]["fields"][0]["id"]
    docs["deal"]["fields"][0]["name"] = "name"  # renamed
    docs["deal"]["fields"][0]["required"] = True  # and changed
    docs["deal"]["title_field"] = "name"
    stage = docs["deal"]["fields"].pop(1)  # removed
    docs["deal"]["fields"].append({"name": "amount", "type": "integer"})  # added
    del docs["note"]
    docs["task"] = entity("task", [{"name": "subject", "type": "text"}])
    site.publish(list(docs.values()))
    changes = site.svc.diff(1, 2)
    amount = site.svc.bundle_of(2).docs("entity")["deal"]["fields"][-1]
    task = site.svc.bundle_of(2).docs("entity")["task"]
    note = site.svc.bundle_of(1).docs("entity")["note"]
    assert changes == [
        {
            "kind": "entity",
            "name": "deal",
            "change": "field_added",
            "path": "deal.amount",
            "before": None,
            "after": amount,
        },
        {
            "kind": "entity",
            "name": "deal",
            "change": "field_changed",
            "path": "deal.name.required",
            "before": None,
            "after": True,
        },
        {
            "kind": "entity",
            "name": "deal",
            "change": "field_removed",
            "path": "deal.stage",
            "before": stage,
            "after": None,
        },
        {
            "kind": "entity",
            "name": "deal",
            "change": "field_renamed",
            "path": "deal.title",
            "before": "title",
            "after": "name",
        },
        {
            "kind": "entity",
            "name": "deal",
            "change": "changed",
            "path": "deal.title_field",
            "before": "title",
            "after": "name",
        },
        {
            "kind": "entity",
            "name": "note",
            "change": "removed",
            "path": "note",
            "before": note,
            "after": None,
        },
        {"kind": "entity", "name": "task", "change": "added", "path": "task", "before": None, "after": task},
    ]
    assert amount["id"] != title_id
    assert site.svc.diff(2, "draft") == []
    site.svc.put_document(
        "form", "deal_form", {"entity": "deal", "tabs": [{"sections": [{"fields": ["name"]}]}]}, "ann"
    )
    [added] = site.svc.diff("2", "draft")
    assert (added["kind"], added["change"], added["path"]) == ("form", "added", "deal_form")
    reverse = site.svc.diff(2, 1)
    assert {(c["change"], c["path"]) for c in reverse} >= {("field_renamed", "deal.name"), ("added", "note")}
    with pytest.raises(NotFound, match="'latest' is neither a version number nor 'draft'"):
        site.svc.diff("latest", 1)
    with pytest.raises(NotFound, match="version 7 does not exist"):
        site.svc.diff(1, 7)


def test_rollback_publishes_an_old_version_again(site: Site) -> None:
    site.publish([DEAL], "v1")
    docs = site.draft_docs()
    docs["deal"]["fields"].append({"name": "amount", "type": "integer"})
    site.publish(list(docs.values()), "v2")
    info = site.svc.rollback(1, "carol")
    assert (info.number, info.action, info.source_version, info.comment, info.created_by) == (
        3,
        "rollback",
        1,
        "rollback to version 1",
        "carol",
    )
    assert site.svc.active_version() == 3
    assert site.svc.bundle_of(3).to_json() == site.svc.bundle_of(1).to_json()
    assert site.svc.draft().to_json() == site.svc.bundle_of(1).to_json()
    assert site.svc.diff(1, 3) == []
    assert "amount" not in site.svc.model().entity("deal").fields
    assert site.svc.rollback(2, "carol", "again").comment == "again"
    assert "amount" in site.svc.model().entity("deal").fields
    with pytest.raises(NotFound, match="version 42 does not exist"):
        site.svc.rollback(42, "carol")
    assert site.svc.active_version() == 4


def test_a_refused_rollback_changes_nothing(site: Site) -> None:
    site.publish([entity("deal", [{"name": "amount", "type": "integer"}])])
    docs = site.draft_docs()
    docs["deal"]["fields"][0]["type"] = "text"
    runtime = site.publish(list(docs.values()))
    runtime.create("deal", {"amount": "about 10"})
    with pytest.raises(SchemaChangeRefused) as caught:
        site.svc.rollback(1, "ann")
    assert caught.value.extra["records"] == [{"id": 1, "value": "about 10", "message": "must be a number"}]
    assert site.svc.active_version() == 2
    assert [v.number for v in site.svc.versions()] == [2, 1]
    assert site.svc.draft().to_json() == site.svc.bundle_of(2).to_json()
    assert site.runtime().get("deal", 1)["amount"] == "about 10"


def test_a_stale_draft_document_is_refused_not_overwritten(site: Site) -> None:
    svc = site.svc
    assert svc.document_fingerprint("entity", "deal") == ""
    svc.put_document("entity", "deal", DEAL, "ann", base="")  # "" = it did not exist when opened
    opened = svc.document_fingerprint("entity", "deal")  # both admins open the same draft
    ann = entity("deal", [*DEAL["fields"], {"name": "amount", "type": "integer"}])
    bob = entity("deal", [*DEAL["fields"], {"name": "notes", "type": "long_text"}])
    svc.put_document("entity", "deal", ann, "ann", base=opened)
    with pytest.raises(StaleDraft, match="changed by ann after you opened it") as refused:
        svc.put_document("entity", "deal", bob, "bob", base=opened)
    assert refused.value.status == 409 and refused.value.extra == {"changed_by": "ann"}
    names = [f["name"] for f in svc.draft().docs("entity")["deal"]["fields"]]
    assert names == ["title", "stage", "amount"]  # Ann's change kept, Bob's not written
    with pytest.raises(StaleDraft):  # creating what someone else created meanwhile
        svc.put_document("entity", "deal", bob, "bob", base="")
    # Without a base (the API without If-Match, imports) the last write still wins, as before.
    svc.put_document("entity", "deal", bob, "bob")
    assert svc.document_fingerprint("entity", "deal") != opened
