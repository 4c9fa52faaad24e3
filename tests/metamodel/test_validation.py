"""Bad metadata is refused before anything is published, each problem naming its document path."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pytest

from metamodel.errors import MetadataInvalid, Problem
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.validation import assign_ids, validate_bundle
from tests.metamodel.mmsupport import Site, as_bundle, entity, select_field

COMPANY = entity("company", [{"name": "name", "type": "text", "required": True}], title_field="name")


def problems_of(registry: FieldTypeRegistry, *entities: dict[str, Any], **other: Any) -> list[Problem]:
    bundle = as_bundle([COMPANY, *entities], **other)
    assign_ids(bundle, None)
    return validate_bundle(bundle, registry)


def paths(problems: Iterable[Problem]) -> dict[str, str]:
    return {p.path: p.message for p in problems}


def test_a_good_bundle_has_no_problems(registry: FieldTypeRegistry) -> None:
    contact = entity(
        "contact",
        [
            {"name": "name", "type": "text", "required": True, "max_length": 80},
            {"name": "company", "type": "link", "target": "company", "on_delete": "cascade"},
            select_field("status", ["lead", "customer"], default="lead"),
            {"name": "lines", "type": "child_table", "child_entity": "contact_line"},
        ],
        title_field="name",
        autonumber="C-{YYYY}-{0000}",
        list_fields=["name", "status"],
        indexes=[{"fields": ["status", "created_at"]}],
    )
    line = entity("contact_line", [{"name": "note", "type": "text"}], is_child=True)
    form = {
        "name": "contact_form",
        "entity": "contact",
        "tabs": [{"sections": [{"fields": ["name", "status"]}]}],
    }
    workflow = {
        "name": "lifecycle",
        "entity": "contact",
        "state_field": "status",
        "states": [{"name": "lead", "initial": True}, {"name": "customer", "final": True}],
        "transitions": [
            {"name": "convert", "from": ["lead"], "to": "customer", "required_fields": ["company"]}
        ],
    }
    assert (
        problems_of(registry, contact, line, form={"contact_form": form}, workflow={"lifecycle": workflow})
        == []
    )


def test_unknown_field_type(registry: FieldTypeRegistry) -> None:
    [found] = problems_of(
        registry, entity("deal", [{"name": "a", "type": "text"}, {"name": "b", "type": "money"}])
    )
    assert found.path == "entity.deal.fields[1].type"
    assert found.code == "unknown_type"
    assert found.message.startswith("unknown field type 'money'; known types: text, long_text, integer")


def test_duplicate_field_name(registry: FieldTypeRegistry) -> None:
    deal = entity(
        "deal",
        [
            {"name": "title", "type": "text"},
            {"name": "x", "type": "text"},
            {"name": "title", "type": "integer"},
        ],
    )
    assert paths(problems_of(registry, deal)) == {
        "entity.deal.fields[2].name": "duplicate field name 'title' (also fields[0])"
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("id", "field name 'id' is a system column name"),
        ("created_at", "field name 'created_at' is a system column name"),
        ("lock_version", "field name 'lock_version' is a system column name"),
        ("select", "field name 'select' is a reserved word"),
        ("order", "field name 'order' is a reserved word"),
        ("sort", "field name 'sort' is a reserved word"),
        ("Title", "field name must start with a lower-case letter"),
        ("first name", "field name must start with a lower-case letter"),
        ('na"me', "field name must start with a lower-case letter"),
        ("it's", "field name must start with a lower-case letter"),
        ("1st", "field name must start with a lower-case letter"),
        ("a" * 41, "field name must start with a lower-case letter"),
        ("amount__gt", "field name must not contain a double underscore"),
    ],
)
def test_bad_field_names(registry: FieldTypeRegistry, name: str, message: str) -> None:
    [found] = problems_of(
        registry, entity("deal", [{"name": "ok", "type": "text"}, {"name": name, "type": "text"}])
    )
    assert (found.path, found.code) == ("entity.deal.fields[1].name", "name")
    assert found.message.startswith(message)


@pytest.mark.parametrize("name", ["Deal", "my deal", 'de"al', "user", "where", "x__y"])
def test_bad_entity_names(registry: FieldTypeRegistry, name: str) -> None:
    found = problems_of(registry, entity(name, [{"name": "a", "type": "text"}]))
    assert [(p.path, p.code) for p in found] == [(f"entity.{name}.name", "name")]
    assert found[0].message.startswith("entity name ")


def test_document_name_must_match_its_key(registry: FieldTypeRegistry) -> None:
    bundle = as_bundle({"entity": {"deal": entity("offer", [])}})
    assign_ids(bundle, None)
    assert paths(validate_bundle(bundle, registry)) == {
        "entity.deal.name": "must equal the document key 'deal'"
    }


def test_structural_problems_come_from_the_json_schema(registry: FieldTypeRegistry) -> None:
    deal = entity(
        "deal", [{"name": "a", "type": "text", "colour": "red"}, {"name": "b"}], is_child="yes", bogus=1
    )
    found = paths(problems_of(registry, deal))
    assert found == {
        "entity.deal": "unknown key ('bogus' was unexpected)",
        "entity.deal.fields[1]": "'type' is required",
        "entity.deal.is_child": "'yes' is not of type 'boolean'",
    }
    # type-specific keys are only allowed on their type
    found = paths(problems_of(registry, entity("deal", [{"name": "a", "type": "text", "scale": 2}])))
    assert found == {"entity.deal.fields[0].scale": "unknown key for a text field"}
    found = paths(problems_of(registry, entity("deal", [{"name": "a", "type": "decimal", "scale": 12}])))
    assert found == {"entity.deal.fields[0].scale": "12 is greater than the maximum of 8"}


def test_select_default_must_be_an_option(registry: FieldTypeRegistry) -> None:
    deal = entity("deal", [select_field("stage", ["open", "won"], default="lost")])
    assert paths(problems_of(registry, deal)) == {
        "entity.deal.fields[0].default": "default 'lost' is not one of the options (open, won)"
    }
    tags = {"name": "tags", "type": "multi_select", "options": [{"value": "a"}], "default": ["a", "b"]}
    assert paths(problems_of(registry, entity("deal", [tags]))) == {
        "entity.deal.fields[0].default": "default 'b' is not one of the options (a)"
    }


def test_other_defaults_are_checked_by_their_type(registry: FieldTypeRegistry) -> None:
    deal = entity(
        "deal",
        [
            {"name": "n", "type": "integer", "default": "ten", "max": 5},
            {"name": "d", "type": "date", "default": "soon"},
        ],
    )
    assert paths(problems_of(registry, deal)) == {
        "entity.deal.fields[0].default": "default value is not valid: must be a number",
        "entity.deal.fields[1].default": "default value is not valid: must be a date like 2026-01-31",
    }


def test_links_must_point_at_existing_parent_entities(registry: FieldTypeRegistry) -> None:
    line = entity("deal_line", [{"name": "x", "type": "text"}], is_child=True)
    deal = entity(
        "deal",
        [
            {"name": "account", "type": "link", "target": "account"},
            {"name": "line", "type": "link", "target": "deal_line"},
            {
                "name": "company",
                "type": "link",
                "target": "company",
                "on_delete": "set_null",
                "required": True,
            },
            {"name": "nothing", "type": "link"},
            {"name": "lines", "type": "child_table", "child_entity": "deal_line"},
        ],
    )
    assert paths(problems_of(registry, deal, line)) == {
        "entity.deal.fields[0].target": "target entity 'account' does not exist",
        "entity.deal.fields[1].target": "'deal_line' is a child-table entity; link to its parent instead",
        "entity.deal.fields[2].on_delete": "a required link cannot be set to empty when its target is deleted",
        "entity.deal.fields[3].target": "a link field needs a target entity",
    }


def test_child_tables_must_point_at_child_entities(registry: FieldTypeRegistry) -> None:
    deal = entity(
        "deal",
        [
            {"name": "lines", "type": "child_table", "child_entity": "company"},
            {"name": "missing", "type": "child_table", "child_entity": "nope"},
            {"name": "notes", "type": "child_table", "child_entity": "note", "unique": True},
        ],
    )
    note = entity("note", [{"name": "text", "type": "text"}], is_child=True)
    other = entity("other", [{"name": "notes", "type": "child_table", "child_entity": "note"}])
    assert paths(problems_of(registry, deal, note, other)) == {
        "entity.deal.fields[0].child_entity": "'company' is not marked is_child",
        "entity.deal.fields[1].child_entity": "child entity 'nope' does not exist",
        "entity.deal.fields[2].unique": "a child_table field cannot be unique or indexed",
        "entity.other.fields[0].child_entity": "'note' already holds the lines of deal.notes",
    }


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("INV-{YYYY}", "pattern needs a counter such as {000000}"),
        ("INV-{YYYY}-{0000}-{Q}", "unknown placeholder; use {YYYY}, {YY}, {MM}, {DD} and {0000}"),
        ("INV-{yyyy}-{0000}", "unknown placeholder; use {YYYY}, {YY}, {MM}, {DD} and {0000}"),
    ],
)
def test_bad_autonumber_pattern(registry: FieldTypeRegistry, pattern: str, message: str) -> None:
    found = problems_of(registry, entity("invoice", [{"name": "a", "type": "text"}], autonumber=pattern))
    assert [(p.path, p.message) for p in found] == [("entity.invoice.autonumber", message)]


def test_autonumber_pattern_characters_and_child_entities(registry: FieldTypeRegistry) -> None:
    found = problems_of(registry, entity("invoice", [], autonumber="INV-'{0000}'"))
    assert [p.path for p in found] == ["entity.invoice.autonumber"] and found[0].code == "schema"
    line = entity("invoice_line", [], is_child=True, autonumber="L-{000}")
    assert paths(problems_of(registry, line)) == {
        "entity.invoice_line.autonumber": "child-table entities have no record numbers"
    }


def test_entity_settings_must_name_real_fields(registry: FieldTypeRegistry) -> None:
    deal = entity(
        "deal",
        [
            {"name": "title", "type": "text"},
            {"name": "lines", "type": "child_table", "child_entity": "deal_line"},
        ],
        title_field="lines",
        list_fields=["title", "ghost"],
        indexes=[{"fields": ["title", "created_at"]}, {"fields": ["title", "nothing"]}],
    )
    line = entity("deal_line", [], is_child=True)
    assert paths(problems_of(registry, deal, line)) == {
        "entity.deal.title_field": "title field 'lines' is not a field with a value",
        "entity.deal.list_fields[1]": "unknown field 'ghost'",
        "entity.deal.indexes[1].fields[1]": "'nothing' is not a field with a column",
    }


def test_form_referencing_unknown_fields(registry: FieldTypeRegistry) -> None:
    form = {
        "name": "company_form",
        "entity": "company",
        "tabs": [
            {"sections": [{"fields": ["name", "phone"]}]},
            {"sections": [{"fields": []}, {"fields": ["name"]}]},
        ],
        "overrides": {"fax": {"hidden": True}},
    }
    assert paths(problems_of(registry, form={"company_form": form})) == {
        "form.company_form.tabs[0].sections[0].fields[1]": "entity 'company' has no field 'phone'",
        "form.company_form.tabs[1].sections[1].fields[0]": (
            "field 'name' is already placed at form.company_form.tabs[0].sections[0].fields[0]"
        ),
        "form.company_form.overrides.fax": "entity 'company' has no field 'fax'",
    }
    orphan = {"name": "orphan", "entity": "ghost", "tabs": [{"sections": [{"fields": ["x"]}]}]}
    assert paths(problems_of(registry, form={"orphan": orphan})) == {
        "form.orphan.entity": "entity 'ghost' does not exist"
    }


def test_workflow_with_unknown_states(registry: FieldTypeRegistry) -> None:
    ticket = entity("ticket", [select_field("status", ["open", "closed"]), {"name": "note", "type": "text"}])
    workflow = {
        "name": "flow",
        "entity": "ticket",
        "state_field": "status",
        "states": [{"name": "open"}, {"name": "closed"}, {"name": "archived"}],
        "transitions": [
            {"name": "close", "from": ["open", "pending"], "to": "closed", "required_fields": ["reason"]},
            {"name": "reopen", "from": ["*"], "to": "reopened"},
        ],
    }
    assert paths(problems_of(registry, ticket, workflow={"flow": workflow})) == {
        "workflow.flow.states[2].name": "state 'archived' is not an option of status",
        "workflow.flow.transitions[0].from[1]": "unknown state 'pending'",
        "workflow.flow.transitions[0].required_fields[0]": "entity 'ticket' has no field 'reason'",
        "workflow.flow.transitions[1].to": "unknown state 'reopened'",
    }
    not_select = copy.deepcopy(workflow)
    not_select["state_field"] = "note"
    assert paths(problems_of(registry, ticket, workflow={"flow": not_select})) == {
        "workflow.flow.state_field": "'note' must be a select field of ticket"
    }


def test_trigger_references(registry: FieldTypeRegistry) -> None:
    trigger = {
        "name": "remind",
        "entity": "company",
        "event": "time",
        "changed_fields": ["name", "size"],
        "schedule": {"relative_to": "renewal", "offset_hours": -24},
        "actions": [{"type": "notify"}],
    }
    assert paths(problems_of(registry, trigger={"remind": trigger})) == {
        "trigger.remind.changed_fields[1]": "entity 'company' has no field 'size'",
        "trigger.remind.schedule.relative_to": "entity 'company' has no field 'renewal'",
    }
    del trigger["schedule"]
    assert paths(problems_of(registry, trigger={"remind": trigger}))["trigger.remind.schedule"] == (
        "a time trigger needs a schedule"
    )


def test_extra_bundle_checks_run_last(site: Site) -> None:
    def no_deals(bundle: Any) -> list[Problem]:
        return (
            [Problem("entity.deal", "deals are not allowed here", "policy")] if bundle.entity("deal") else []
        )

    bundle = as_bundle([COMPANY, entity("deal", [{"name": "x", "type": "text"}])])
    assign_ids(bundle, None)
    assert paths(validate_bundle(bundle, site.registry, [no_deals])) == {
        "entity.deal": "deals are not allowed here"
    }
    bad = as_bundle([COMPANY, entity("deal", [{"name": "x", "type": "nope"}])])
    assign_ids(bad, None)
    assert [p.code for p in validate_bundle(bad, site.registry, [no_deals])] == ["unknown_type"]


def test_publish_refuses_bad_metadata_and_changes_nothing(site: Site) -> None:
    site.publish([COMPANY])
    tables_before = site.tables()
    bad = entity(
        "deal", [{"name": "id", "type": "text"}, {"name": "company", "type": "link", "target": "firm"}]
    )
    site.svc.replace_draft(as_bundle([COMPANY, bad]), "tester")
    with pytest.raises(MetadataInvalid) as caught:
        site.svc.publish("tester")
    assert caught.value.message == "the metadata has 2 problem(s); nothing was published"
    assert paths(caught.value.problems) == {
        "entity.deal.fields[0].name": "field name 'id' is a system column name",
        "entity.deal.fields[1].target": "target entity 'firm' does not exist",
    }
    assert caught.value.as_dict()["details"][0] == {
        "path": "entity.deal.fields[0].name",
        "message": "field name 'id' is a system column name",
        "code": "name",
    }
    assert site.svc.active_version() == 1
    assert [v.number for v in site.svc.versions()] == [1]
    assert site.tables() == tables_before and "rec_deal" not in site.tables()
    assert paths(site.svc.validate_draft()) == paths(caught.value.problems)


def test_draft_documents_are_checked_for_shape_when_stored(site: Site) -> None:
    with pytest.raises(MetadataInvalid) as caught:
        site.svc.put_document("entity", "deal", {"fields": [{"name": "a"}], "colour": 1}, "tester")
    assert paths(caught.value.problems) == {
        "entity.deal": "unknown key ('colour' was unexpected)",
        "entity.deal.fields[0]": "'type' is required",
    }
    with pytest.raises(MetadataInvalid) as caught:
        site.svc.put_document("entity", "deal", {"name": "offer", "fields": []}, "tester")
    assert paths(caught.value.problems) == {"entity.deal.name": "must equal the document key 'deal'"}
    stored = site.svc.put_document("entity", "deal", {"fields": [{"name": "a", "type": "text"}]}, "tester")
    assert stored["name"] == "deal" and len(stored["id"]) == 12 and len(stored["fields"][0]["id"]) == 12
    assert site.svc.draft().entity("deal") is not None
    assert site.svc.active_version() is None  # storing a draft publishes nothing
