"""Publish-time checks of field rules: expressions compile with the right type, roll-ups fit, no cycles."""

from __future__ import annotations

from collections.abc import Iterator

from metamodel.definitions import FieldDef
from metamodel.errors import Problem
from metamodel.model import EntityModel, SiteModel
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import shared_expressions
from rule_engine.expressions.types import BOOLEAN, FIELD_TYPE_TYPES, NUMBER, compatible
from rule_engine.fieldrules.spec import FieldRules, Rollup, field_rules, find_cycle, formula_graph
from rule_engine.triggers.checks import expression_problem

_NUMERIC = ("integer", "decimal", "currency")
_NO_VALUE = ("child_table", "attachment", "json")


def check_site_rules(site: SiteModel, rules: RuleEngine) -> Iterator[Problem]:
    """Yield every problem of the field and entity rules of all entities of ``site``."""
    for name in sorted(site.entities):
        yield from check_entity_rules(site, site.entity(name), rules)


def check_entity_rules(site: SiteModel, model: EntityModel, rules: RuleEngine) -> Iterator[Problem]:
    """Yield the problems of one entity's rules."""
    prefix = f"entity.{model.name}"
    found = field_rules(model.entity)
    used: dict[str, set[str]] = {}
    for rule in found.values():
        definition = model.entity.fields[rule.index]
        path = f"{prefix}.fields[{rule.index}]"
        yield from _check_field(site, model, definition, rule, path, rules, used)
    graph = formula_graph(found, used)
    cycle = find_cycle(graph)
    if cycle:
        first = found[cycle[0]]
        yield Problem(
            f"{prefix}.fields[{first.index}].rules.formula",
            f"formulas depend on each other in a cycle: {' -> '.join(cycle)}",
            "cycle",
        )
    entity_rules = model.entity.doc.get("rules") or {}
    for index, item in enumerate(entity_rules.get("validations") or []):
        path = f"{prefix}.rules.validations[{index}]"
        target = item.get("field")
        if target is not None and target not in model.fields:
            yield Problem(f"{path}.field", f"unknown field '{target}'", "reference")
        yield from _typed(site, model, item["condition"], BOOLEAN, f"{path}.condition", rules)


def _typed(
    site: SiteModel, model: EntityModel, text: str, expected: str, path: str, rules: RuleEngine
) -> Iterator[Problem]:
    try:
        compiled = shared_expressions(rules.functions).compile(site, model.name, text)
    except Exception as exc:
        yield expression_problem(exc, path)
        return
    if not compatible(compiled.result_type, expected):
        yield Problem(path, f"must give a {expected}, not a {compiled.result_type}", "expression")


def _check_field(
    site: SiteModel,
    model: EntityModel,
    definition: FieldDef,
    rule: FieldRules,
    path: str,
    rules: RuleEngine,
    used: dict[str, set[str]],
) -> Iterator[Problem]:
    kind = FIELD_TYPE_TYPES.get(definition.type)
    derived = rule.formula or rule.rollup
    at = f"{path}.rules"
    if derived and (definition.type in _NO_VALUE or kind is None):
        yield Problem(at, f"a {definition.type} field cannot be computed", "invalid")
        return
    if rule.formula and rule.rollup:
        yield Problem(at, "give either formula or rollup, not both", "invalid")
    if derived:
        if definition.required:
            yield Problem(
                f"{path}.required", "a computed field is never entered, so it cannot be required", "invalid"
            )
        for key in ("default", "required_if", "readonly_if"):
            if getattr(rule, key):
                yield Problem(f"{at}.{key}", "a computed field is never entered; remove this rule", "invalid")
        if definition.get("default") is not None:
            yield Problem(f"{path}.default", "a computed field has no default", "invalid")
    if rule.default and definition.get("default") is not None:
        yield Problem(
            f"{at}.default", "give either a fixed default or a default expression, not both", "invalid"
        )
    if rule.default and definition.required:
        yield Problem(
            f"{path}.required",
            'required is checked before defaults apply; use rules.required_if "true" with a default',
            "invalid",
        )
    if rule.visible_if and definition.required:
        yield Problem(
            f"{path}.required",
            "a field that can be hidden cannot always be required; use rules.required_if",
            "invalid",
        )
    if rule.formula and kind is not None:
        try:
            compiled = shared_expressions(rules.functions).compile(site, model.name, rule.formula)
        except Exception as exc:
            yield expression_problem(exc, f"{at}.formula")
        else:
            used[rule.name] = {u for u in compiled.fields_used if "." not in u and ":" not in u}
            if not compatible(compiled.result_type, kind):
                yield Problem(
                    f"{at}.formula",
                    f"gives a {compiled.result_type}, but {definition.name} is a {definition.type} field",
                    "expression",
                )
    if rule.default and kind is not None:
        yield from _typed(site, model, rule.default, kind, f"{at}.default", rules)
    for key in ("visible_if", "required_if", "readonly_if"):
        text = getattr(rule, key)
        if text:
            yield from _typed(site, model, text, BOOLEAN, f"{at}.{key}", rules)
    for index, validation in enumerate(rule.validations):
        yield from _typed(
            site, model, validation.condition, BOOLEAN, f"{at}.validations[{index}].condition", rules
        )
    if rule.rollup is not None:
        yield from _check_rollup(site, model, definition, rule.rollup, f"{at}.rollup", rules)


def _rollup_source(site: SiteModel, model: EntityModel, rollup: Rollup) -> EntityModel | str:
    if not rollup.via_link:
        child_field = model.fields.get(rollup.source)
        if child_field is None or child_field.type != "child_table":
            return f"'{rollup.source}' is not a child table of {model.name}"
        return site.entity(str(child_field.get("child_entity")))
    entity, link = rollup.split()
    other = site.entities.get(entity)
    link_def = other.fields.get(link) if other else None
    if other is None or link_def is None or link_def.type != "link" or link_def.get("target") != model.name:
        return f"'{rollup.source}' is not '<entity>.<link field>' of a link to {model.name}"
    return other


def _check_rollup(
    site: SiteModel, model: EntityModel, definition: FieldDef, rollup: Rollup, path: str, rules: RuleEngine
) -> Iterator[Problem]:
    source = _rollup_source(site, model, rollup)
    if isinstance(source, str):
        yield Problem(f"{path}.source", source, "reference")
        return
    if rollup.kind == "count":
        if rollup.field:
            yield Problem(f"{path}.field", "a count counts records; remove field", "invalid")
        if definition.type not in _NUMERIC:
            yield Problem(path, f"a count needs an integer field, not {definition.type}", "invalid")
    else:
        source_field = source.fields.get(rollup.field or "")
        if source_field is None or not source.types[source_field.name].has_column:
            yield Problem(f"{path}.field", f"give a field of {source.name} to {rollup.kind}", "reference")
            return
        source_kind = FIELD_TYPE_TYPES.get(source_field.type)
        if rollup.kind == "sum":
            if source_kind != NUMBER or source_field.type not in _NUMERIC:
                yield Problem(f"{path}.field", f"cannot sum a {source_field.type} field", "invalid")
            elif definition.type not in _NUMERIC or (
                definition.type == "integer" and source_field.type != "integer"
            ):
                yield Problem(
                    path, f"a sum of a {source_field.type} field needs a decimal or currency field", "invalid"
                )
        elif source_kind in (None, "list", "any") or source_field.type in ("link", "boolean"):
            yield Problem(
                f"{path}.field", f"cannot take the {rollup.kind} of a {source_field.type} field", "invalid"
            )
        elif source_kind != FIELD_TYPE_TYPES.get(definition.type) or (
            definition.type == "integer" and source_field.type != "integer"
        ):
            yield Problem(
                path,
                f"the {rollup.kind} of a {source_field.type} field does not fit a {definition.type} field",
                "invalid",
            )
    if rollup.filter:
        expressions = shared_expressions(rules.functions)
        problems = list(_typed(site, source, rollup.filter, BOOLEAN, f"{path}.filter", rules))
        yield from problems
        if not problems and expressions.to_sql(site, source.name, rollup.filter, rules.clock()) is None:
            yield Problem(f"{path}.filter", "must be a condition the database can evaluate", "expression")
