"""Writing one unit through the record runtime: create, update or skip it, and say what happened per row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError

from metamodel.errors import CrmError
from metamodel.imports.convert import Converted, Converter
from metamodel.imports.links import LinkResolver
from metamodel.imports.mapping import targets
from metamodel.imports.matching import KeyIndex
from metamodel.imports.options import ImportOptions
from metamodel.imports.plan import Unit, unit_key
from metamodel.records.base import SYSTEM
from metamodel.records.batch import SavepointNeeded, batch_scope
from metamodel.records.hooks import Actor
from metamodel.records.runtime import RecordRuntime

_LINE_PATH = re.compile(r"^(\w+)\[(\d+)\]\.(\w+)")


@dataclass
class Outcome:
    """What writing a unit did: created, updated, skipped or failed (with per-row errors)."""

    status: str
    record_id: int | None = None
    before: dict[str, Any] | None = None
    version: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


class UnitWriter:
    """Writes the units of one import in the caller's transaction: runs of good rows in one savepoint."""

    def __init__(
        self, runtime: RecordRuntime, entity: str, options: ImportOptions, actor: Actor, conn: Connection
    ) -> None:
        self.runtime = runtime
        self.entity = entity
        self.options = options
        self.actor = actor
        self.conn = conn
        site = runtime.model
        self.model = site.entity(entity)
        self.header_of = {t: h for h, t in options.mapping.items() if t}
        fields = {t.name: t.field for t in targets(site, self.model)}
        links = LinkResolver(site, conn, lambda name: runtime.scope_clauses(name, actor))
        self.converter = Converter(options, fields, runtime.registry, links)
        self.index = KeyIndex(self.model, options.key_fields)
        if options.key_fields:
            self.index.load(conn, runtime.scope_clauses(entity, actor))

    def write_all(self, units: list[Unit]) -> list[Outcome]:
        """Write ``units`` in order; returns their outcomes.

        Runs of rows are written in one savepoint without the per-step savepoints of the runtime
        (see metamodel.records.batch).  When a row fails, the run is rolled back, the rows before
        it are written again as a run, and the failing row is written alone with every savepoint,
        so it fails (or not) exactly as it would on its own and takes nothing else with it.
        """
        # Converted once (a redone run does not convert again); the link lookups are cached anyway.
        converted = [self.converter.convert(unit) for unit in units]
        outcomes: list[Outcome] = []
        start, end = 0, len(units)
        while start < len(units):
            failed = self._run(units, converted, start, end, outcomes)
            if failed is None:
                start, end = end, len(units)
            elif failed == start:
                outcomes.append(self.write(units[start], converted[start]))
                start, end = start + 1, len(units)
            else:
                end = failed  # the rows before the failing one again, then the failing one alone
        return outcomes

    def _run(
        self, units: list[Unit], converted: list[Converted], start: int, end: int, outcomes: list[Outcome]
    ) -> int | None:
        # Write units[start:end] in one savepoint; the index of the row that failed (all rolled back), or None.
        mark = self.index.mark()
        done: list[Outcome] = []
        savepoint = self.conn.begin_nested()
        try:
            with batch_scope(self.conn, optimistic=True):
                good = [c.payload for c in converted[start:end] if not c.errors]
                self.runtime.prime_links(self.conn, self.entity, good, self.actor)
                for unit, unit_converted in zip(units[start:end], converted[start:end], strict=True):
                    if unit_converted.errors:
                        done.append(Outcome("failed", errors=unit_converted.errors))
                    else:
                        done.append(self._apply(unit, unit_converted, self._key(unit), read_back=False))
                self._versions(done)
        except (CrmError, SavepointNeeded, DBAPIError):
            savepoint.rollback()
            self.index.rollback_to(mark)
            # A failure after the last row (writing the batch's deferred log rows) is redone shorter.
            return min(start + len(done), end - 1)
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        outcomes += done
        return None

    def _versions(self, done: list[Outcome]) -> None:
        # The lock_version of every record the run wrote, read once at its end (undo compares it).
        written = {o.record_id for o in done if o.record_id is not None}
        if not written:
            return
        table = self.model.table
        found: dict[int, int] = {}
        ids = sorted(written)
        for start in range(0, len(ids), 500):
            statement = select(table.c.id, table.c.lock_version).where(
                table.c.id.in_(ids[start : start + 500])
            )
            found.update((int(i), int(v)) for i, v in self.conn.execute(statement))
        for outcome in done:
            if outcome.record_id is not None:
                outcome.version = found.get(outcome.record_id)

    def write(self, unit: Unit, converted: Converted | None = None) -> Outcome:
        """Write ``unit``; a failure rolls back its savepoint only and is returned as errors."""
        converted = converted or self.converter.convert(unit)
        if converted.errors:
            return Outcome("failed", errors=converted.errors)
        try:
            with self.conn.begin_nested(), batch_scope(self.conn, optimistic=False):
                return self._apply(unit, converted, self._key(unit))
        except CrmError as exc:
            return Outcome("failed", errors=self._errors(exc, unit, converted))

    def _key(self, unit: Unit) -> tuple[str, ...] | None:
        return unit_key(unit, self.options, self.model, self.header_of) if self.options.key_fields else None

    def _apply(
        self, unit: Unit, converted: Converted, key: tuple[str, ...] | None, *, read_back: bool = True
    ) -> Outcome:
        matches = self.index.find(key) if key else []
        first_row = unit.rows[0][0]
        if len(matches) > 1:
            return self._failed(first_row, f"the key matches {len(matches)} stored records")
        if not matches:
            if self.options.mode == "update":
                return self._failed(first_row, "no stored record has this key")
            record = self.runtime.create(
                self.entity, converted.payload, self.actor, conn=self.conn, read_back=read_back
            )
            if key:
                self.index.add(key, int(record["id"]))
            return Outcome("created", int(record["id"]), version=record.get("lock_version"))
        existing = matches[0]
        if self.options.mode == "insert" and self.options.duplicates == "skip":
            message = f"already stored as {self.entity} #{existing} (skipped)"
            return Outcome("skipped", errors=[self._row_error(first_row, message)])
        stored = self.runtime.get(self.entity, existing, SYSTEM, conn=self.conn)
        payload = converted.payload
        if self.options.duplicates == "merge":
            payload = {k: v for k, v in payload.items() if stored.get(k) in (None, "", [])}
        if not payload:
            return Outcome("skipped", errors=[self._row_error(first_row, "nothing new to fill in (skipped)")])
        before = {name: self._restorable(name, stored.get(name)) for name in payload}
        record = self.runtime.update(
            self.entity, existing, payload, self.actor, conn=self.conn, read_back=read_back
        )
        return Outcome("updated", existing, before, record.get("lock_version"))

    def _restorable(self, name: str, value: Any) -> Any:
        # Lines come back without their ids: undo replaces the import's lines with copies of the old.
        if isinstance(value, list) and name in {f.name for f in self.model.child_fields()}:
            return [{k: v for k, v in line.items() if k != "id" and not k.startswith("_")} for line in value]
        return value

    def _failed(self, row: int, message: str) -> Outcome:
        return Outcome("failed", errors=[self._row_error(row, message)])

    def _row_error(self, row: int, message: str) -> dict[str, Any]:
        column = ", ".join(self.header_of.get(name, name) for name in self.options.key_fields)
        return {"row": row, "column": column, "message": message}

    def _errors(self, exc: CrmError, unit: Unit, converted: Converted) -> list[dict[str, Any]]:
        first_row = unit.rows[0][0]
        if not exc.problems:
            return [{"row": first_row, "column": "", "message": exc.message}]
        errors = []
        for problem in exc.problems:
            row, column = first_row, self.header_of.get(problem.path, "")
            line = _LINE_PATH.match(problem.path)
            if line:
                child, index, name = line.group(1), int(line.group(2)), line.group(3)
                rows = converted.line_rows.get(child, [])
                row = rows[index] if index < len(rows) else first_row
                column = self.header_of.get(f"{child}.{name}", "")
            elif column:
                row = _row_with(unit, column, first_row)
            errors.append({"row": row, "column": column, "message": problem.message})
        return errors


def _row_with(unit: Unit, header: str, default: int) -> int:
    rows = unit.rows if unit.pick == "first" else list(reversed(unit.rows))
    for number, cells in rows:
        if header in cells:
            return number
    return default
