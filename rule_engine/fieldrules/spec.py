"""Field rules read from entity metadata: defaults, formulas, roll-ups, conditions and validations.

Field ``rules``: ``formula``, ``default``, ``visible_if``, ``required_if``, ``readonly_if`` (expression
texts), ``rollup`` (``{source, kind, field, filter}``) and ``validations`` (``[{condition, message}]``).
Entity ``rules``: ``validations`` (``[{condition, message, field?}]``).  Multi-field uniqueness is the
entity's ``indexes: [{fields, unique: true}]``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metamodel.definitions import EntityDef
from metamodel.model import SiteModel

# Roll-up kinds and the aggregate of the expression language computing each.
ROLLUP_AGGREGATES = {"sum": "sum", "count": "count", "min": "min_of", "max": "max_of"}


@dataclass(frozen=True)
class Validation:
    """A condition that must hold, and the message shown when it does not."""

    condition: str
    message: Mapping[str, str]
    field: str | None = None  # where the problem is reported; None: the record

    def text(self, locale: str = "en") -> str:
        """Return the message in ``locale``, falling back to English, then any language."""
        found = self.message.get(locale) or self.message.get("en") or next(iter(self.message.values()), "")
        return str(found or "is not valid")


@dataclass(frozen=True)
class Rollup:
    """An aggregate over a child table or the records linking to this one, stored in ``target``."""

    target: str
    source: str  # a child-table field of this entity, or "<entity>.<link field>"
    kind: str  # sum | count | min | max
    field: str | None
    filter: str | None
    order_field: str | None = None  # a formula's ``last_n_count``: the field choosing the latest records

    @property
    def via_link(self) -> bool:
        """Whether the source is records of another entity linking here (not child-table lines)."""
        return "." in self.source

    def split(self) -> tuple[str, str]:
        """Return (entity, link field) of a linking source."""
        entity, _, link = self.source.partition(".")
        return entity, link


@dataclass(frozen=True)
class FieldRules:
    """The rules of one field."""

    name: str
    index: int
    formula: str | None = None
    default: str | None = None
    visible_if: str | None = None
    required_if: str | None = None
    readonly_if: str | None = None
    rollup: Rollup | None = None
    validations: tuple[Validation, ...] = ()


@dataclass
class EntityRules:
    """All field rules of one entity, with formulas in the order they must be computed."""

    name: str
    fields: dict[str, FieldRules] = field(default_factory=dict)
    validations: tuple[Validation, ...] = ()
    unique_sets: tuple[tuple[str, ...], ...] = ()
    formula_order: tuple[str, ...] = ()

    @property
    def rollups(self) -> list[Rollup]:
        """The roll-ups of this entity."""
        return [r.rollup for r in self.fields.values() if r.rollup is not None]

    @property
    def derived(self) -> set[str]:
        """Fields the engine computes: formulas and roll-ups."""
        return {r.name for r in self.fields.values() if r.formula or r.rollup}

    @property
    def empty(self) -> bool:
        """Whether there is nothing to do on a save."""
        return not (self.fields or self.validations or self.unique_sets)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _validations(items: Any, field_name: str | None) -> tuple[Validation, ...]:
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and _text(item.get("condition")):
            message = item.get("message")
            found.append(
                Validation(
                    str(item["condition"]),
                    dict(message) if isinstance(message, Mapping) else {"en": str(message or "")},
                    field_name or _text(item.get("field")),
                )
            )
    return tuple(found)


def field_rules(entity: EntityDef) -> dict[str, FieldRules]:
    """Return the rules of every field of ``entity`` that has some, by field name."""
    result: dict[str, FieldRules] = {}
    for index, definition in enumerate(entity.fields):
        rules = definition.get("rules")
        if not isinstance(rules, Mapping) or not rules:
            continue
        rollup = rules.get("rollup")
        result[definition.name] = FieldRules(
            name=definition.name,
            index=index,
            formula=_text(rules.get("formula")),
            default=_text(rules.get("default")),
            visible_if=_text(rules.get("visible_if")),
            required_if=_text(rules.get("required_if")),
            readonly_if=_text(rules.get("readonly_if")),
            rollup=Rollup(
                definition.name,
                str(rollup.get("source", "")),
                str(rollup.get("kind", "")),
                _text(rollup.get("field")),
                _text(rollup.get("filter")),
            )
            if isinstance(rollup, Mapping)
            else None,
            validations=_validations(rules.get("validations"), definition.name),
        )
    return result


def unique_sets(entity: EntityDef) -> tuple[tuple[str, ...], ...]:
    """Return the field sets of the entity's multi-field unique indexes."""
    return tuple(
        tuple(index["fields"])
        for index in entity.doc.get("indexes") or []
        if index.get("unique") and len(index.get("fields") or ()) > 1
    )


def formula_graph(rules: Mapping[str, FieldRules], used: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """Return, for each formula field, the formula or roll-up fields of the same record it reads."""
    derived = {name for name, r in rules.items() if r.formula or r.rollup}
    return {
        name: sorted(n for n in used.get(name, set()) if n in derived)
        for name, r in rules.items()
        if r.formula
    }


def find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """Return one cycle of the graph as a closed path ``[a, b, a]``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological(graph: Mapping[str, list[str]]) -> tuple[str, ...]:
    """Return the formula fields so each comes after the formulas it reads (the graph has no cycle)."""
    order: list[str] = []
    done: set[str] = set()

    def visit(node: str, seen: frozenset[str]) -> None:
        if node in done or node in seen:
            return
        for nxt in graph.get(node, []):
            if nxt in graph:
                visit(nxt, seen | {node})
        done.add(node)
        order.append(node)

    for node in sorted(graph):
        visit(node, frozenset())
    return tuple(order)


@dataclass(frozen=True)
class LinkRead:
    """Formulas of ``reader`` reading ``fields`` of the record reached by following ``links`` from it."""

    reader: str
    links: tuple[str, ...]  # the link fields followed from the reader, first hop first
    fields: frozenset[str]  # the fields of the reached record the formulas read


@dataclass
class SiteRules:
    """The field rules of every entity of one metadata version, and who watches whom for roll-ups."""

    entities: dict[str, EntityRules]
    # entity -> roll-ups of other entities whose source is records of this entity linking to them
    watchers: dict[str, list[tuple[str, Rollup]]]
    # entity -> formulas of other records reading its fields through their links (``member.tier``)
    link_readers: dict[str, list[LinkRead]] = field(default_factory=dict)

    def of(self, entity: str) -> EntityRules:
        """Return the rules of ``entity`` (empty when it has none)."""
        return self.entities.get(entity) or EntityRules(entity)


def build_site_rules(site: SiteModel, expressions: Any) -> SiteRules:
    """Read every entity's rules; ``expressions`` compiles formulas to learn what they read."""
    entities: dict[str, EntityRules] = {}
    watchers: dict[str, list[tuple[str, Rollup]]] = {}
    reads: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}
    for name, model in site.entities.items():
        rules = field_rules(model.entity)
        all_used = {
            f: expressions.compile(site, name, r.formula).fields_used for f, r in rules.items() if r.formula
        }
        used = {f: {u for u in names if "." not in u and ":" not in u} for f, names in all_used.items()}
        for names in all_used.values():
            for path in (tuple(u.split(".")) for u in names if "." in u and ":" not in u):
                _add_link_reads(site, name, path, reads)
        graph = formula_graph(rules, used)
        entity_doc_rules = model.entity.doc.get("rules") or {}
        entities[name] = EntityRules(
            name,
            rules,
            _validations(entity_doc_rules.get("validations"), None),
            unique_sets(model.entity),
            topological({k: [n for n in v if n != k] for k, v in graph.items()}),
        )
        for rule in rules.values():
            if rule.rollup is not None and rule.rollup.via_link:
                watchers.setdefault(rule.rollup.split()[0], []).append((name, rule.rollup))
            if rule.formula:
                for watched in formula_aggregates(rule.name, expressions.compile(site, name, rule.formula)):
                    watchers.setdefault(watched.split()[0], []).append((name, watched))
    link_readers: dict[str, list[LinkRead]] = {}
    for (target, reader, links), fields in sorted(reads.items()):
        link_readers.setdefault(target, []).append(LinkRead(reader, links, frozenset(fields)))
    return SiteRules(entities, watchers, link_readers)


def formula_aggregates(target: str, compiled: Any) -> list[Rollup]:
    """Return a formula's aggregates over records linking here (``count('deal.customer')``) as roll-ups to watch.

    They are watched like roll-ups, so the linking records' changes refresh the formula through the
    record runtime.  Child-table aggregates change with the record's own save; aggregates over
    records sharing a link (siblings) are not followed.
    """
    return [
        Rollup(
            target,
            f"{spec.source.name}.{spec.link_field}",
            spec.kind,
            spec.field,
            spec.condition.text if spec.condition is not None else None,
            spec.order_field if spec.kind == "last_n_count" else None,
        )
        for spec in compiled.aggregates
        if spec.link_field is not None and not spec.sibling
    ]


def _add_link_reads(
    site: SiteModel,
    reader: str,
    path: tuple[str, ...],
    reads: dict[tuple[str, str, tuple[str, ...]], set[str]],
) -> None:
    # ``a.b.c`` read by ``reader``: it reads ``a``'s target's field b and ``a.b``'s target's field c.
    current = site.entity(reader)
    for hop in range(len(path) - 1):
        current = site.entity(str(current.fields[path[hop]].get("target")))
        reads.setdefault((current.name, reader, path[: hop + 1]), set()).add(path[hop + 1])


_cache: weakref.WeakKeyDictionary[SiteModel, SiteRules] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def site_rules(site: SiteModel, expressions: Any) -> SiteRules:
    """Return the site's rules, read once per metadata version."""
    with _lock:
        found = _cache.get(site)
    if found is None:
        found = build_site_rules(site, expressions)
        with _lock:
            _cache[site] = found
    return found
