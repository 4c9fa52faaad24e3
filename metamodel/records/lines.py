"""Child lines and the checks a save runs on its values: field guards on the payload, references, uniqueness."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, true

from metamodel.crypto.records import equals, with_search_hashes
from metamodel.errors import ProblemList
from metamodel.model import EntityModel
from metamodel.records.base import SYSTEM
from metamodel.records.hooks import Actor
from metamodel.records.links import attachment_allowed, link_allowed, prime_link_targets
from metamodel.records.reads import RecordReads
from metamodel.records.values import prepare_values

PreparedLines = dict[str, builtins.list[tuple[int | None, dict[str, Any]]]]


class RecordLines(RecordReads):
    """The steps of a save that vet a payload and its lines, and the writing of the lines."""

    def _guard_write(
        self,
        conn: Connection,
        model: EntityModel,
        raw: Mapping[str, Any],
        actor: Actor,
        before: dict[str, Any] | None,
    ) -> Mapping[str, Any]:
        # The payload as given, less the fields the guards leave out; lines are vetted one by one
        # against the stored line with the same id.
        if not self.hooks.field_guards:
            return raw
        given = {name for name in raw if name in model.fields}
        left_out = self._guard_fields(conn, model, "write", given, actor, dict(raw), before)
        kept = {key: value for key, value in raw.items() if key not in left_out}
        for child_field in model.child_fields():
            lines = kept.get(child_field.name)
            if not isinstance(lines, builtins.list):
                continue
            child = self.model.entity(str(child_field.get("child_entity")))
            stored = {line["id"]: line for line in (before or {}).get(child_field.name) or []}
            kept[child_field.name] = [
                self._guard_write(
                    conn, child, line, actor, stored.get(line.get("id")) or ({} if before else None)
                )
                if isinstance(line, Mapping)
                else line
                for line in lines
            ]
        return kept

    def prime_links(
        self, conn: Connection, entity: str, payloads: Sequence[Mapping[str, Any]], actor: Actor
    ) -> None:
        """Check the link targets of a batch's payloads in one query per link field (a batch's cache; see links.py)."""
        model = self.model.entity(entity)
        for definition in model.column_fields():
            if definition.type != "link":
                continue
            target = self.model.entity(str(definition.get("target")))
            scope = [] if target.entity.is_child else self._scope(target, actor)
            values = [payload.get(definition.name) for payload in payloads]
            prime_link_targets(conn, target.table, values, scope, model, definition.name)

    def _check_values(
        self,
        conn: Connection,
        model: EntityModel,
        values: dict[str, Any],
        record_id: int | None,
        problems: ProblemList,
        prefix: str,
        actor: Actor = SYSTEM,
    ) -> None:
        # Links are checked against what ``actor`` may read (metamodel.records.links).
        for definition in model.column_fields():
            name = definition.name
            value = values.get(name)
            if value is None:
                continue
            if definition.type == "link":
                target = self.model.entity(str(definition.get("target")))
                exists = self._statements.get((target.table, "exists"))
                if exists is None:
                    exists = select(target.table.c.id).where(target.table.c.id == bindparam("_record_id"))
                    self._statements[(target.table, "exists")] = exists
                scope = [] if target.entity.is_child else self._scope(target, actor)
                if not link_allowed(conn, exists, value, scope, model, name, record_id):
                    problems.add(f"{prefix}{name}", f"{target.name} {value} does not exist", "reference")
            elif definition.type == "attachment":
                if not attachment_allowed(conn, value, actor, model, name, record_id):
                    problems.add(f"{prefix}{name}", f"attachment {value} does not exist", "reference")
            if definition.unique:
                clash = select(model.table.c.id).where(equals(model, name, value))
                if record_id is not None:
                    clash = clash.where(model.table.c.id != record_id)
                other = conn.execute(clash.limit(1)).scalar()
                if other is not None:
                    problems.add(
                        f"{prefix}{name}",
                        f"must be unique; {model.name} {other} already has this value",
                        "unique",
                    )

    def _prepare_lines(
        self,
        conn: Connection,
        model: EntityModel,
        children: dict[str, builtins.list[Any]],
        parent_id: int | None,
        problems: ProblemList,
        actor: Actor = SYSTEM,
    ) -> dict[str, builtins.list[tuple[int | None, dict[str, Any]]]]:
        prepared: dict[str, builtins.list[tuple[int | None, dict[str, Any]]]] = {}
        for field_name, rows in children.items():
            child = self.model.entity(str(model.fields[field_name].get("child_entity")))
            existing: set[int] = set()
            if parent_id is not None:
                table = child.table
                existing = set(
                    conn.execute(
                        select(table.c.id).where(
                            table.c.parent_id == parent_id, table.c.parent_field == field_name
                        )
                    ).scalars()
                )
            lines: builtins.list[tuple[int | None, dict[str, Any]]] = []
            for index, row in enumerate(rows):
                prefix = f"{field_name}[{index}]."
                line_id = row.get("id")
                if line_id is not None and line_id not in existing:
                    problems.add(f"{prefix}id", f"line {line_id} is not a line of this record", "reference")
                    continue
                values, _ = prepare_values(child, self.registry, row, problems, creating=True, prefix=prefix)
                self._check_values(conn, child, values, line_id, problems, prefix, actor)
                lines.append((line_id, values))
            prepared[field_name] = lines
        return prepared

    def _write_lines(
        self,
        conn: Connection,
        model: EntityModel,
        parent_id: int,
        lines: dict[str, builtins.list[tuple[int | None, dict[str, Any]]]],
        actor: Actor,
    ) -> None:
        for field_name, rows in lines.items():
            child = self.model.entity(str(model.fields[field_name].get("child_entity")))
            table = child.table
            keep = {line_id for line_id, _ in rows if line_id is not None}
            mine = and_(table.c.parent_id == parent_id, table.c.parent_field == field_name)
            stale = select(table.c.id).where(mine, table.c.id.not_in(keep) if keep else true())
            conn.execute(table.delete().where(table.c.id.in_(stale.scalar_subquery())))
            for number, (line_id, values) in enumerate(rows, start=1):
                common = {
                    **with_search_hashes(child, values),
                    "line_no": number,
                    "updated_at": actor.now,
                    "updated_by": actor.user_id,
                }
                if line_id is None:
                    conn.execute(
                        table.insert().values(
                            **common,
                            parent_id=parent_id,
                            parent_field=field_name,
                            lock_version=1,
                            created_at=actor.now,
                            created_by=actor.user_id,
                            owner_id=actor.user_id,
                        )
                    )
                else:
                    conn.execute(
                        table.update()
                        .where(table.c.id == line_id)
                        .values(**common, lock_version=table.c.lock_version + 1)
                    )
