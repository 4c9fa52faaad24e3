"""Checks of a draft against the stored records: what publishing would refuse, or leave needing care.

One scan per changed entity reads the stored values (typed as the active version stores them) and
judges every field change that depends on data: a re-type that cannot convert a value, a removed
select option still in use (unless an option map sends it to a remaining option), ``required`` added
over empty values, ``unique`` added over duplicates, a shorter maximum length, a link pointed at
another entity, and a removed entity that still has records. ``/meta/draft/validate`` runs them all;
publishing runs the ones the schema sync does not judge itself, then applies the option map in its
transaction. Records are named by id and title.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, MetaData, func, select

from metamodel.crypto.sealing import NO_SEALING, Sealing
from metamodel.datamaps import OptionMap, mapped
from metamodel.definitions import Bundle, EntityDef, FieldDef
from metamodel.fieldtypes.base import FieldType, FieldTypeRegistry, ValueProblem
from metamodel.tables import build_table, field_signature

SAMPLE = 20  # records named per finding
HIDDEN = "[sensitive]"
ERROR, WARNING = "error", "warning"
CHOICE_TYPES = ("select", "multi_select")

# English wording of each finding; the web layer translates by ``datacheck.<code>`` with the same values.
MESSAGES = {
    "conversion": "{count} record(s) of {entity} have {field} values that cannot become {type}",
    "option_in_use": "{count} record(s) of {entity} still use the removed option '{option}' of {field}; "
    "map it to a remaining option or change those records first",
    "required_empty": "{count} record(s) of {entity} have no {field}, which becomes required",
    "duplicates": "{count} record(s) of {entity} repeat a value of {field}, which becomes unique",
    "too_long": "{count} record(s) of {entity} have {field} values longer than the new maximum of {max_length}",
    "link_retargeted": "{count} record(s) of {entity} link through {field} to {old_target} records; "
    "pointing it at {target} would make those links wrong",
    "entity_removed": "{count} record(s) of {entity} are set aside with the entity (kept until purge)",
}


@dataclass(frozen=True)
class DataFinding:
    """One data-dependent consequence of publishing the draft; errors refuse the publish."""

    path: str
    code: str
    severity: str
    values: dict[str, Any]
    records: tuple[dict[str, Any], ...] = ()

    @property
    def message(self) -> str:
        """Return the English message."""
        return MESSAGES[self.code].format(**self.values)

    def as_dict(self, message: str | None = None) -> dict[str, Any]:
        """Return the JSON shape used by the API (``message`` overrides the English text)."""
        return {
            "path": self.path,
            "message": message or self.message,
            "code": self.code,
            "severity": self.severity,
            "count": self.values["count"],
            "values": self.values,
            "records": list(self.records),
        }


@dataclass
class _Probe:
    """Counts the records whose stored value of one column ``hits``, keeping a sample of them."""

    path: str
    code: str
    severity: str
    column: str
    hits: Callable[[Any], bool]
    values: dict[str, Any]
    sensitive: bool = False
    count: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)

    def see(self, record_id: int, title: str, value: Any, text: str) -> None:
        if not self.hits(value):
            return
        self.count += 1
        if len(self.records) < SAMPLE:
            shown = HIDDEN if self.sensitive else text[:100]
            self.records.append({"id": record_id, "title": title, "value": shown})

    def finding(self) -> DataFinding | None:
        if not self.count:
            return None
        return DataFinding(
            self.path, self.code, self.severity, {**self.values, "count": self.count}, tuple(self.records)
        )


class DataChecks:
    """Judges a draft against the records stored under the active version."""

    def __init__(self, registry: FieldTypeRegistry, sealing: Sealing = NO_SEALING) -> None:
        self.registry = registry
        self.sealing = sealing

    def findings(
        self, conn: Connection, active: Bundle, draft: Bundle, remap: OptionMap, *, full: bool = True
    ) -> list[DataFinding]:
        """Return the findings of publishing ``draft`` over ``active``; ``full=False`` skips what sync judges."""
        found: list[DataFinding] = []
        old_entities = {e.id: e for e in active.entities()}
        new_ids = {e.id for e in draft.entities()}
        for entity in draft.entities():
            old = old_entities.get(entity.id)
            if old is not None:
                probes = list(self._probes(active, draft, old, entity, remap, full))
                found += self._scan(conn, old, probes)
        if full:
            for old in old_entities.values():
                if old.id not in new_ids:
                    found += self._removed(conn, old)
        return found

    # --- probes -------------------------------------------------------------------------------
    def _probes(
        self, active: Bundle, draft: Bundle, old: EntityDef, new: EntityDef, remap: OptionMap, full: bool
    ) -> Iterator[_Probe]:
        for index, wanted in enumerate(new.fields):
            before = old.field_by_id(wanted.id)
            if before is None or not self.registry.of(wanted).has_column:
                continue
            base = {"entity": new.name, "field": wanted.name}
            path = f"entity.{new.name}.fields[{index}]"
            sensitive = bool(before.get("sensitive") or wanted.get("sensitive"))
            old_type = self.registry.get(before.type)
            converts = before.type != wanted.type or field_signature(
                before, self.registry, self.sealing
            ) != field_signature(wanted, self.registry, self.sealing)
            if converts:
                if full:
                    yield _Probe(
                        f"{path}.type",
                        "conversion",
                        ERROR,
                        before.name,
                        _fails(self.registry.of(wanted), wanted, before, old_type),
                        {**base, "type": wanted.type},
                        sensitive,
                    )
                continue
            yield from self._option_probes(path, base, before, wanted, remap, sensitive)
            yield from self._link_probes(path, base, before, wanted, active, draft)
            if full:
                yield from self._rule_probes(path, base, before, wanted, old_type, sensitive)

    def _option_probes(
        self,
        path: str,
        base: dict[str, Any],
        before: FieldDef,
        wanted: FieldDef,
        remap: OptionMap,
        sensitive: bool,
    ) -> Iterator[_Probe]:
        if before.type not in CHOICE_TYPES or wanted.type != before.type:
            return
        remaining = {str(c.get("value")) for c in wanted.choices}
        mapping = mapped(remap, base["entity"], wanted.name)
        for option in (str(c.get("value")) for c in before.choices):
            if option in remaining or mapping.get(option) in remaining:
                continue
            yield _Probe(
                f"{path}.options",
                "option_in_use",
                ERROR,
                before.name,
                _holds_option(option),
                {**base, "option": option},
                sensitive,
            )

    def _link_probes(
        self,
        path: str,
        base: dict[str, Any],
        before: FieldDef,
        wanted: FieldDef,
        active: Bundle,
        draft: Bundle,
    ) -> Iterator[_Probe]:
        if before.type != "link" or wanted.type != "link":
            return
        old_target = active.entity(str(before.get("target")))
        new_target = draft.entity(str(wanted.get("target")))
        if old_target is None or new_target is None or old_target.id == new_target.id:
            return
        values = {**base, "old_target": old_target.name, "target": new_target.name}
        yield _Probe(f"{path}.target", "link_retargeted", ERROR, before.name, _filled, values)

    def _rule_probes(
        self,
        path: str,
        base: dict[str, Any],
        before: FieldDef,
        wanted: FieldDef,
        old_type: FieldType,
        sensitive: bool,
    ) -> Iterator[_Probe]:
        if wanted.required and not before.required:
            yield _Probe(
                f"{path}.required", "required_empty", WARNING, before.name, old_type.is_empty, base, sensitive
            )
        if wanted.unique and not before.unique:
            yield _Probe(f"{path}.unique", "duplicates", ERROR, before.name, _repeats(), base, sensitive)
        limit = wanted.get("max_length")
        previous = before.get("max_length") or getattr(old_type, "default_max_length", None)
        if isinstance(limit, int) and (previous is None or limit < previous):
            hits = lambda value: isinstance(value, str) and len(value) > limit  # noqa: E731
            yield _Probe(
                f"{path}.max_length",
                "too_long",
                WARNING,
                before.name,
                hits,
                {**base, "max_length": limit},
                sensitive,
            )

    # --- scanning -----------------------------------------------------------------------------
    def _scan(self, conn: Connection, entity: EntityDef, probes: list[_Probe]) -> list[DataFinding]:
        if not probes:
            return []
        table = build_table(entity, self.registry, MetaData(), self.sealing)
        title_name = entity.title_field if entity.title_field and entity.title_field in table.c else None
        columns = sorted({p.column for p in probes})
        selected: list[Any] = [table.c.id, *(table.c[c] for c in columns)]
        if title_name:
            selected.append(table.c[title_name].label("_title"))
        texts = {c: self._texter(entity, c) for c in columns}
        for row in conn.execute(select(*selected).order_by(table.c.id)).mappings():
            title = str(row["_title"]) if title_name and row["_title"] is not None else f"#{row['id']}"
            for probe in probes:
                value = row[probe.column]
                probe.see(int(row["id"]), title, value, texts[probe.column](value))
        for probe in probes:
            finish = getattr(probe.hits, "finish", None)
            if finish is not None:
                finish(probe)
        return [f for f in (p.finding() for p in probes) if f is not None]

    def _texter(self, entity: EntityDef, name: str) -> Callable[[Any], str]:
        definition = entity.field(name)
        assert definition is not None
        field_type = self.registry.of(definition)
        return lambda value: "" if value is None else field_type.to_text(definition, value)

    def _removed(self, conn: Connection, entity: EntityDef) -> list[DataFinding]:
        table = build_table(entity, self.registry, MetaData(), self.sealing)
        count = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        if not count:
            return []
        return [
            DataFinding(
                f"entity.{entity.name}", "entity_removed", WARNING, {"entity": entity.name, "count": count}
            )
        ]


def _fails(
    new_type: FieldType, wanted: FieldDef, before: FieldDef, old_type: FieldType
) -> Callable[[Any], bool]:
    def hits(value: Any) -> bool:
        try:
            new_type.convert(wanted, before, old_type, value)
        except ValueProblem:
            return True
        return False

    return hits


def _holds_option(option: str) -> Callable[[Any], bool]:
    return lambda value: value == option or (isinstance(value, list) and option in value)


def _filled(value: Any) -> bool:
    return value is not None


class _Repeats:
    """Hits every value seen before; ``finish`` adds the first holder of each repeated value."""

    def __init__(self) -> None:
        self.seen: dict[Any, int] = {}

    def __call__(self, value: Any) -> bool:
        if value is None or value == "":
            return False
        key = tuple(value) if isinstance(value, list) else value
        self.seen[key] = self.seen.get(key, 0) + 1
        return self.seen[key] > 1

    def finish(self, probe: _Probe) -> None:
        probe.count += sum(1 for n in self.seen.values() if n > 1)


def _repeats() -> Callable[[Any], bool]:
    return _Repeats()


def findings_by_severity(findings: list[DataFinding]) -> tuple[list[DataFinding], list[DataFinding]]:
    """Split findings into errors and warnings."""
    return [f for f in findings if f.severity == ERROR], [f for f in findings if f.severity == WARNING]
