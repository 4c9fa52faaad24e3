"""Form view-models built from entity and form metadata: tabs, sections and one view per field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from form_renderer.presentation import PresentationRegistry, register_builtin_presentations
from metamodel.definitions import FieldDef
from metamodel.model import EntityModel, SiteModel

# Used when a caller passes no registry (tests of the layout alone); the pages pass the site's.
_BUILTIN = register_builtin_presentations(PresentationRegistry())


@dataclass
class FieldView:
    """Everything a widget template needs to render one field."""

    name: str
    type: str
    widget: str
    template: str  # the Jinja template rendering the widget (widgets/<widget>.html)
    label: str
    help: str
    placeholder: str
    required: bool
    readonly: bool
    value: Any  # the JSON form of the value (strings, lists, dicts), or raw posted text after an error
    error: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    title: str = ""  # display title of a linked record
    lines: list[dict[str, Any]] = field(default_factory=list)  # child-table rows: {"id", "cells", "errors"}
    columns: list[FieldView] = field(default_factory=list)  # child-table column templates
    # Field-rule conditions the page re-evaluates as the user types (the server stays the authority).
    visible_if: str = ""
    required_if: str = ""
    readonly_if: str = ""
    computed: bool = False  # a formula or roll-up: shown, never entered
    marker: str = ""  # ƒ for a formula, Σ for a roll-up
    hidden: bool = False  # visible_if does not hold for the values shown (the server said so)
    required_now: bool = False  # required, or required_if holds for the values shown
    masked: bool = False  # field rules show the reader a mask (138****1234), not the value
    revealable: bool = False  # ... and let her reveal the value (an audited call)
    revealed: bool = False  # the value shown is a revealed clear value
    definition: FieldDef | None = None  # the field's metadata, for its presentation


@dataclass
class SectionView:
    """A section of a tab: a label, a column count and its fields."""

    label: str
    columns: int
    fields: list[FieldView]


@dataclass
class TabView:
    """One tab of a form."""

    label: str
    sections: list[SectionView]


@dataclass
class FormView:
    """A whole form for one record of an entity."""

    entity: str
    label: str
    tabs: list[TabView]
    record_error: str = ""


def _label(labels: Mapping[str, str] | None, locale: str, fallback: str) -> str:
    labels = labels or {}
    return str(labels.get(locale) or labels.get("en") or fallback)


def default_form(model: EntityModel) -> dict[str, Any]:
    """Return the form used when an entity has no form document: one section of two columns."""
    names = [f.name for f in model.entity.fields]
    return {
        "name": model.name,
        "entity": model.name,
        "tabs": [{"sections": [{"columns": 2, "fields": names}]}],
    }


def form_document(site: SiteModel, model: EntityModel) -> dict[str, Any]:
    """Return the entity's first form document, or the default form."""
    for doc in site.bundle.docs("form").values():
        if doc.get("entity") == model.name:
            return doc
    return default_form(model)


def build_form(
    site: SiteModel,
    model: EntityModel,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    locale: str,
    titles: Mapping[str, str] | None = None,
    access: FieldAccessOf | None = None,
    presentations: PresentationRegistry | None = None,
    states: Mapping[str, Any] | None = None,
) -> FormView:
    """Build the view-model of a form filled with ``values`` and ``errors`` keyed by field path.

    ``access`` gives the reader's field rules per entity: hidden fields are left out, read-only and
    masked ones rendered read-only (masked ones showing their mask). ``states`` (field -> an object
    with ``visible``, ``required``, ``readonly``) are the conditional rules evaluated by the rule
    engine for these values, so the page opens as it will look after its first round trip.
    """
    shown = presentations or _BUILTIN
    rules = access(model) if access else {}
    doc = form_document(site, model)
    overrides: Mapping[str, Any] = doc.get("overrides") or {}
    placed: set[str] = set()
    tabs = []
    for tab in doc["tabs"]:
        sections = []
        for section in tab["sections"]:
            views = []
            for name in section["fields"]:
                definition = model.fields.get(name)
                override = overrides.get(name) or {}
                if definition is None or override.get("hidden") or _level(rules, name) == "hidden":
                    continue
                placed.add(name)
                view = field_view(
                    site, model, definition, override, values, errors, locale, titles or {}, access, shown
                )
                _restrict(view, rules.get(name))
                _apply_state(view, (states or {}).get(name))
                views.append(view)
            sections.append(
                SectionView(_label(section.get("label"), locale, ""), int(section.get("columns", 1)), views)
            )
        tabs.append(TabView(_label(tab.get("label"), locale, ""), sections))
    problems = [
        msg for path, msg in errors.items() if path == "" or path.split("[")[0].split(".")[0] not in placed
    ]
    return FormView(model.name, model.entity.label(locale), tabs, "; ".join(problems))


def field_view(
    site: SiteModel,
    model: EntityModel,
    definition: FieldDef,
    override: Mapping[str, Any],
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    locale: str,
    titles: Mapping[str, str],
    access: FieldAccessOf | None = None,
    presentations: PresentationRegistry | None = None,
) -> FieldView:
    """Build the view of one field with its value and error; its type's presentation picks the widget."""
    registry = presentations or _BUILTIN
    presentation = registry.of(definition.type)
    field_type = model.types[definition.name]
    widget = str(override.get("widget") or field_type.widget)
    if widget not in presentation.widgets:  # an override may only pick a widget the type offers
        widget = field_type.widget
    view = FieldView(
        name=definition.name,
        type=definition.type,
        widget=widget,
        template=presentation.widget_template(widget),
        label=_label(override.get("label"), locale, definition.label(locale)),
        help=_label(override.get("help"), locale, definition.help(locale)),
        placeholder=_label(override.get("placeholder") or definition.get("placeholder"), locale, ""),
        required=definition.required,
        required_now=definition.required,
        readonly=bool(override.get("readonly")),
        value=values.get(definition.name),
        error=errors.get(definition.name, ""),
        options=[
            (str(c.get("value")), definition.choice_label(str(c.get("value")), locale))
            for c in definition.choices
        ],
        settings={
            k: definition.get(k)
            for k in ("target", "currency", "scale", "min", "max", "max_length", "accept")
        },
        title=str(titles.get(definition.name, "")),
        definition=definition,
    )
    _apply_rules(view, definition)
    if definition.type == "child_table":
        child = site.entity(str(definition.get("child_entity")))
        child_rules = access(child) if access else {}
        shown = [
            f
            for f in child.entity.fields
            if f.type != "child_table" and _level(child_rules, f.name) != "hidden"
        ]
        view.columns = [
            _restrict(
                field_view(site, child, f, {}, {}, {}, locale, {}, None, registry), child_rules.get(f.name)
            )
            for f in shown
        ]
        rows = values.get(definition.name) or []
        for index, row in enumerate(rows if isinstance(rows, list) else []):
            prefix = f"{definition.name}[{index}]."
            row_errors = {k[len(prefix) :]: v for k, v in errors.items() if k.startswith(prefix)}
            cells = [
                _restrict(
                    field_view(
                        site, child, f, {}, row, row_errors, locale, row.get("_titles") or {}, None, registry
                    ),
                    child_rules.get(f.name),
                )
                for f in shown
            ]
            view.lines.append(
                {"id": row.get("id"), "cells": cells, "error": errors.get(f"{definition.name}[{index}]", "")}
            )
    return view


FieldAccessOf = Callable[[EntityModel], Mapping[str, Any]]  # entity -> field -> rule with level and reveal


def _level(rules: Mapping[str, Any], name: str) -> str:
    rule = rules.get(name)
    return str(rule.level) if rule is not None else "full"


def _restrict(view: FieldView, rule: Any) -> FieldView:
    """Make a field read-only (and masked) as the reader's field rule says."""
    if rule is None:
        return view
    if rule.level in ("readonly", "masked"):
        view.readonly = True
    if rule.level == "masked":
        view.masked = True
        view.revealable = bool(rule.reveal)
    return view


def _apply_rules(view: FieldView, definition: FieldDef) -> None:
    """Copy a field's conditional rules onto its view; computed fields render read-only."""
    rules = definition.get("rules")
    if not isinstance(rules, Mapping):
        return
    view.visible_if = str(rules.get("visible_if") or "")
    view.required_if = str(rules.get("required_if") or "")
    view.readonly_if = str(rules.get("readonly_if") or "")
    view.computed = bool(rules.get("formula") or rules.get("rollup"))
    if view.computed:
        view.readonly = True
        view.marker = "Σ" if rules.get("rollup") else "ƒ"


def _apply_state(view: FieldView, state: Any) -> None:
    """Open the field as the rule engine judged it for the values shown."""
    if state is None:
        return
    view.hidden = not state.visible
    view.required_now = view.required or bool(state.required)
    if state.readonly:
        view.readonly = True
