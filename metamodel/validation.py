"""Whole-bundle validation: structure by JSON Schema, then names, types and cross-references."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from metamodel.dashboards import check_dashboards
from metamodel.definitions import Bundle, EntityDef
from metamodel.documents import check_against, check_document, load_schema
from metamodel.errors import Problem
from metamodel.fieldtypes.base import DefinitionContext, FieldTypeRegistry
from metamodel.followups.config import check_followups
from metamodel.identifiers import field_name_problem, name_problem
from metamodel.pool.config import check_pool
from metamodel.reportdocs import check_reports
from metamodel.tables import INDEXABLE_SYSTEM_COLUMNS
from metamodel.unitfield import check_org_unit_field
from metamodel.viewsettings import check_views

# Extra checks (e.g. the rule engine's expression checks) plug in here.
BundleCheck = Callable[[Bundle], Iterable[Problem]]

_BASE_FIELD_KEYS = frozenset(load_schema("entity")["$defs"]["field"]["properties"])
_AUTONUMBER_TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|0+|#+)\}")


def new_id() -> str:
    """Return a fresh stable identifier for an entity or field."""
    return secrets.token_hex(6)


def assign_ids(bundle: Bundle, previous: Bundle | None) -> None:
    """Give entities and fields without an id the id they had before (matched by name) or a new one."""
    for name, doc in bundle.docs("entity").items():
        if not isinstance(doc, dict):
            continue
        old = previous.entity(name) if previous else None
        if "id" not in doc:
            doc["id"] = old.id if old else new_id()
        for field_doc in doc.get("fields") or []:
            if isinstance(field_doc, dict) and "id" not in field_doc:
                old_field = old.field(str(field_doc.get("name"))) if old else None
                field_doc["id"] = old_field.id if old_field else new_id()


def validate_bundle(
    bundle: Bundle, registry: FieldTypeRegistry, checks: Iterable[BundleCheck] = ()
) -> list[Problem]:
    """Return every problem in the bundle; an empty list means it may be published."""
    problems: list[Problem] = []
    for kind, docs in bundle.documents.items():
        for key, doc in docs.items():
            prefix = f"{kind}.{key}"
            found = check_document(kind, doc, prefix)
            if not found and doc.get("name") != key:
                found.append(Problem(f"{prefix}.name", f"must equal the document key '{key}'", "name"))
            problems += found
    if problems:
        return problems  # cross-references mean little until every document has the right shape
    problems += _check_entities(bundle, registry)
    problems += _check_child_owners(bundle)
    problems += _check_forms(bundle)
    problems += _check_workflows(bundle)
    problems += _check_triggers(bundle)
    if not problems:
        problems += check_reports(bundle, registry) + check_dashboards(bundle, registry)
    if not problems:
        for check in checks:
            problems += list(check(bundle))
    return problems


def _check_entities(bundle: Bundle, registry: FieldTypeRegistry) -> list[Problem]:
    problems: list[Problem] = []
    entity_ids: dict[str, str] = {}
    for entity in bundle.entities():
        prefix = f"entity.{entity.name}"
        problem = name_problem(entity.name)
        if problem:
            problems.append(Problem(f"{prefix}.name", f"entity name {problem}", "name"))
        if entity.id in entity_ids:
            problems.append(
                Problem(f"{prefix}.id", f"id is also used by entity '{entity_ids[entity.id]}'", "duplicate")
            )
        entity_ids[entity.id] = entity.name
        problems += _check_fields(bundle, entity, registry)
        problems += _check_entity_settings(entity, registry)
    return problems


def _check_fields(bundle: Bundle, entity: EntityDef, registry: FieldTypeRegistry) -> list[Problem]:
    problems: list[Problem] = []
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    ctx = DefinitionContext(bundle, entity)
    for index, field in enumerate(entity.fields):
        prefix = f"entity.{entity.name}.fields[{index}]"
        problem = field_name_problem(field.name)
        if problem:
            problems.append(Problem(f"{prefix}.name", f"field name {problem}", "name"))
        if field.name in seen_names:
            problems.append(
                Problem(
                    f"{prefix}.name",
                    f"duplicate field name '{field.name}' (also fields[{seen_names[field.name]}])",
                    "duplicate",
                )
            )
        seen_names.setdefault(field.name, index)
        if field.id in seen_ids:
            problems.append(
                Problem(
                    f"{prefix}.id", f"duplicate field id (also fields[{seen_ids[field.id]}])", "duplicate"
                )
            )
        seen_ids.setdefault(field.id, index)
        if field.type not in registry:
            known = ", ".join(registry.names())
            problems.append(
                Problem(
                    f"{prefix}.type",
                    f"unknown field type '{field.type}'; known types: {known}",
                    "unknown_type",
                )
            )
            continue
        field_type = registry.of(field)
        extra_keys = set(field.doc) - _BASE_FIELD_KEYS - set(field_type.definition_properties)
        for key in sorted(extra_keys):
            problems.append(Problem(f"{prefix}.{key}", f"unknown key for a {field.type} field", "schema"))
        if field_type.definition_properties:
            schema = {"type": "object", "properties": dict(field_type.definition_properties)}
            type_problems = check_against(schema, field.doc, prefix)
            problems += type_problems
            if type_problems:
                continue
        if not field_type.has_column and (field.unique or field.indexed):
            problems.append(
                Problem(f"{prefix}.unique", f"a {field.type} field cannot be unique or indexed", "invalid")
            )
        for key, message in field_type.check_definition(field, ctx):
            problems.append(Problem(f"{prefix}.{key}", message, "invalid"))
    return problems


def _check_entity_settings(entity: EntityDef, registry: FieldTypeRegistry) -> list[Problem]:
    problems: list[Problem] = []
    prefix = f"entity.{entity.name}"
    if entity.title_field is not None:
        title = entity.field(entity.title_field)
        if title is None or title.type not in registry or not registry.of(title).has_column:
            problems.append(
                Problem(
                    f"{prefix}.title_field",
                    f"title field '{entity.title_field}' is not a field with a value",
                    "reference",
                )
            )
    for i, index_doc in enumerate(entity.doc.get("indexes") or []):
        for j, name in enumerate(index_doc["fields"]):
            field = entity.field(name)
            usable = name in INDEXABLE_SYSTEM_COLUMNS or (
                field is not None and field.type in registry and registry.of(field).has_column
            )
            if not usable:
                problems.append(
                    Problem(
                        f"{prefix}.indexes[{i}].fields[{j}]",
                        f"'{name}' is not a field with a column",
                        "reference",
                    )
                )
    for index, name in enumerate(entity.doc.get("list_fields") or []):
        if entity.field(name) is None:
            problems.append(Problem(f"{prefix}.list_fields[{index}]", f"unknown field '{name}'", "reference"))
    pattern = entity.autonumber
    if pattern:
        if not re.search(r"\{(0+|#+)\}", pattern):
            problems.append(
                Problem(f"{prefix}.autonumber", "pattern needs a counter such as {000000}", "invalid")
            )
        leftover = _AUTONUMBER_TOKEN.sub("", pattern)
        if "{" in leftover or "}" in leftover:
            problems.append(
                Problem(
                    f"{prefix}.autonumber",
                    "unknown placeholder; use {YYYY}, {YY}, {MM}, {DD} and {0000}",
                    "invalid",
                )
            )
    if entity.is_child and entity.autonumber:
        problems.append(
            Problem(f"{prefix}.autonumber", "child-table entities have no record numbers", "invalid")
        )
    return (
        problems
        + check_pool(entity, registry)
        + check_views(entity, registry)
        + check_followups(entity)
        + check_org_unit_field(entity, registry)
    )


def _check_child_owners(bundle: Bundle) -> list[Problem]:
    """A child entity's lines belong to exactly one child-table field."""
    problems: list[Problem] = []
    owners: dict[str, str] = {}
    for entity in bundle.entities():
        for index, field in enumerate(entity.fields):
            if field.type != "child_table" or not field.get("child_entity"):
                continue
            child = str(field.get("child_entity"))
            where = f"{entity.name}.{field.name}"
            if child in owners:
                path = f"entity.{entity.name}.fields[{index}].child_entity"
                problems.append(
                    Problem(path, f"'{child}' already holds the lines of {owners[child]}", "duplicate")
                )
            owners.setdefault(child, where)
    return problems


def _field_problem(bundle: Bundle, entity_name: str, field_name: str, path: str) -> Problem | None:
    entity = bundle.entity(entity_name)
    if entity is None or entity.field(field_name) is None:
        return Problem(path, f"entity '{entity_name}' has no field '{field_name}'", "reference")
    return None


def _entity_problem(bundle: Bundle, name: str, path: str) -> Problem | None:
    if bundle.entity(name) is None:
        return Problem(path, f"entity '{name}' does not exist", "reference")
    return None


def _check_forms(bundle: Bundle) -> list[Problem]:
    problems: list[Problem] = []
    for name, doc in bundle.docs("form").items():
        prefix = f"form.{name}"
        missing = _entity_problem(bundle, doc["entity"], f"{prefix}.entity")
        if missing:
            problems.append(missing)
            continue
        placed: dict[str, str] = {}
        for t, tab in enumerate(doc["tabs"]):
            for s, section in enumerate(tab["sections"]):
                for f, field_name in enumerate(section["fields"]):
                    path = f"{prefix}.tabs[{t}].sections[{s}].fields[{f}]"
                    problem = _field_problem(bundle, doc["entity"], field_name, path)
                    if problem:
                        problems.append(problem)
                    elif field_name in placed:
                        problems.append(
                            Problem(
                                path,
                                f"field '{field_name}' is already placed at {placed[field_name]}",
                                "duplicate",
                            )
                        )
                    placed.setdefault(field_name, path)
        for field_name in doc.get("overrides") or {}:
            problem = _field_problem(bundle, doc["entity"], field_name, f"{prefix}.overrides.{field_name}")
            if problem:
                problems.append(problem)
    return problems


def _check_workflows(bundle: Bundle) -> list[Problem]:
    problems: list[Problem] = []
    for name, doc in bundle.docs("workflow").items():
        prefix = f"workflow.{name}"
        missing = _entity_problem(bundle, doc["entity"], f"{prefix}.entity")
        if missing:
            problems.append(missing)
            continue
        entity = bundle.entity(doc["entity"])
        assert entity is not None
        state_field = entity.field(doc["state_field"])
        if state_field is None or state_field.type != "select":
            problems.append(
                Problem(
                    f"{prefix}.state_field",
                    f"'{doc['state_field']}' must be a select field of {entity.name}",
                    "reference",
                )
            )
            continue
        options = {c.get("value") for c in state_field.choices}
        states = [s["name"] for s in doc["states"]]
        for i, state in enumerate(states):
            if state not in options:
                problems.append(
                    Problem(
                        f"{prefix}.states[{i}].name",
                        f"state '{state}' is not an option of {state_field.name}",
                        "reference",
                    )
                )
        for i, transition in enumerate(doc["transitions"]):
            for j, source in enumerate(transition["from"]):
                if source not in states and source != "*":
                    problems.append(
                        Problem(
                            f"{prefix}.transitions[{i}].from[{j}]", f"unknown state '{source}'", "reference"
                        )
                    )
            if transition["to"] not in states:
                problems.append(
                    Problem(
                        f"{prefix}.transitions[{i}].to", f"unknown state '{transition['to']}'", "reference"
                    )
                )
            for j, field_name in enumerate(transition.get("required_fields") or []):
                problem = _field_problem(
                    bundle, entity.name, field_name, f"{prefix}.transitions[{i}].required_fields[{j}]"
                )
                if problem:
                    problems.append(problem)
    return problems


def _check_triggers(bundle: Bundle) -> list[Problem]:
    problems: list[Problem] = []
    for name, doc in bundle.docs("trigger").items():
        prefix = f"trigger.{name}"
        missing = _entity_problem(bundle, doc["entity"], f"{prefix}.entity")
        if missing:
            problems.append(missing)
            continue
        for i, field_name in enumerate(doc.get("changed_fields") or []):
            problem = _field_problem(bundle, doc["entity"], field_name, f"{prefix}.changed_fields[{i}]")
            if problem:
                problems.append(problem)
        schedule: dict[str, Any] = doc.get("schedule") or {}
        if doc["event"] == "time" and not schedule:
            problems.append(Problem(f"{prefix}.schedule", "a time trigger needs a schedule", "invalid"))
        relative_to = schedule.get("relative_to")
        if relative_to:
            problem = _field_problem(bundle, doc["entity"], relative_to, f"{prefix}.schedule.relative_to")
            if problem:
                problems.append(problem)
    return problems
