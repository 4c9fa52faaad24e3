"""Schema sync: make the record tables match a metadata bundle without losing data.

Tables and columns are tracked by entity and field ids, so a rename is a rename, a removed field's
column is set aside (renamed, not dropped) until purged, and rolling back re-attaches it. A re-type
converts every stored value through the new field type first and is refused, naming the records, when
any value cannot survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    MetaData,
    Table,
    Text,
    bindparam,
    func,
    inspect,
    select,
)
from sqlalchemy.schema import CreateTable

from metamodel.crypto.sealing import (
    NO_SEALING,
    SEALED_SIGNATURE,
    FieldSeal,
    SealedType,
    Sealing,
    field_aad,
    hash_column,
)
from metamodel.definitions import Bundle, EntityDef, FieldDef
from metamodel.errors import Problem, SchemaChangeRefused
from metamodel.fieldtypes.base import FieldTypeRegistry, ValueProblem
from metamodel.identifiers import table_name
from metamodel.systables import attachments, physical_columns, physical_tables
from metamodel.tables import build_table, desired_indexes, field_column_type, field_signature, system_columns

_ON_DELETE_SQL = {"restrict": "RESTRICT", "set_null": "SET NULL", "cascade": "CASCADE"}
_REPORT_LIMIT = 20
HIDDEN = "[sensitive]"  # shown instead of a sensitive value in refusals
HASH_ID_SUFFIX = "__bidx"  # physical_columns id of a field's search-hash column: <field id>__bidx
_BATCH = 2000


@dataclass
class SyncReport:
    """What a sync did, in words an admin can read."""

    changes: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        """Record one change."""
        self.changes.append(text)


@dataclass
class _ColumnState:
    entity_id: str
    field_id: str
    column_name: str
    field_name: str
    signature: str
    status: str
    definition: dict[str, Any]


class SchemaSync:
    """Applies a bundle's entities to the database inside the caller's transaction."""

    def __init__(self, registry: FieldTypeRegistry, sealing: Sealing = NO_SEALING) -> None:
        self.registry = registry
        self.sealing = sealing

    # --- public ---------------------------------------------------------------------------
    def apply(self, conn: Connection, bundle: Bundle) -> SyncReport:
        """Create, rename, set aside and convert tables and columns so they match ``bundle``."""
        report = SyncReport()
        self._conn = conn
        self._quote = conn.dialect.identifier_preparer.quote
        wanted = {entity.id: entity for entity in bundle.entities()}
        tables = {row.entity_id: row for row in conn.execute(select(physical_tables))}
        # Entity ids by their names before this sync, so link columns follow a renamed target entity.
        self._wanted = wanted
        self._entity_ids = {
            row.table_name.removeprefix(table_name("")): entity_id
            for entity_id, row in tables.items()
            if row.status == "active"
        }
        self._set_aside_tables(tables, wanted, report)
        self._place_tables(tables, wanted, report)
        for entity in wanted.values():
            self._sync_columns(entity, report)
        for entity in wanted.values():
            self._sync_indexes(entity, report)
        return report

    def purge(self, conn: Connection) -> SyncReport:
        """Drop set-aside tables and columns for good."""
        report = SyncReport()
        self._conn = conn
        self._quote = conn.dialect.identifier_preparer.quote
        for row in conn.execute(select(physical_tables).where(physical_tables.c.status == "removed")).all():
            self._ddl(f"DROP TABLE {self._quote(row.table_name)}")
            conn.execute(physical_tables.delete().where(physical_tables.c.entity_id == row.entity_id))
            conn.execute(physical_columns.delete().where(physical_columns.c.entity_id == row.entity_id))
            report.add(f"dropped removed table {row.table_name}")
        active = {r.entity_id: r.table_name for r in conn.execute(select(physical_tables))}
        stale = conn.execute(select(physical_columns).where(physical_columns.c.status != "active")).all()
        for row in stale:
            self._drop_column(active[row.entity_id], row.column_name)
            conn.execute(
                physical_columns.delete().where(
                    (physical_columns.c.entity_id == row.entity_id)
                    & (physical_columns.c.field_id == row.field_id)
                )
            )
            report.add(f"dropped removed column {active[row.entity_id]}.{row.column_name}")
        return report

    # --- tables ---------------------------------------------------------------------------
    def _set_aside_tables(
        self, tables: dict[str, Any], wanted: dict[str, EntityDef], report: SyncReport
    ) -> None:
        for entity_id, row in tables.items():
            if entity_id not in wanted and row.status == "active":
                aside = f"rm_{entity_id}"
                self._ddl(f"ALTER TABLE {self._quote(row.table_name)} RENAME TO {self._quote(aside)}")
                self._set_table(entity_id, aside, "removed")
                report.add(f"set aside table {row.table_name} (data kept until purge)")

    def _place_tables(self, tables: dict[str, Any], wanted: dict[str, EntityDef], report: SyncReport) -> None:
        # Two passes through temporary names let entities swap names safely.
        moving = []
        for entity_id, entity in wanted.items():
            row = tables.get(entity_id)
            target = table_name(entity.name)
            if row is not None and row.table_name != target:
                temp = f"mv_{entity_id}"
                self._ddl(f"ALTER TABLE {self._quote(row.table_name)} RENAME TO {self._quote(temp)}")
                self._set_table(entity_id, temp, row.status)  # frees the old name for a swap partner
                moving.append((entity_id, row, temp, target))
        for entity_id, row, temp, target in moving:
            self._ddl(f"ALTER TABLE {self._quote(temp)} RENAME TO {self._quote(target)}")
            self._set_table(entity_id, target, "active")
            verb = "restored" if row.status == "removed" else "renamed"
            report.add(f"{verb} table {row.table_name} -> {target}")
        for entity_id, entity in wanted.items():
            if entity_id not in tables:
                target = table_name(entity.name)
                base = Table(target, MetaData(), *system_columns(entity))
                self._conn.execute(CreateTable(base))
                self._conn.execute(
                    physical_tables.insert().values(entity_id=entity_id, table_name=target, status="active")
                )
                report.add(f"created table {target}")

    def _set_table(self, entity_id: str, name: str, status: str) -> None:
        self._conn.execute(
            physical_tables.update()
            .where(physical_tables.c.entity_id == entity_id)
            .values(table_name=name, status=status)
        )

    # --- columns --------------------------------------------------------------------------
    def _column_states(self, entity_id: str) -> dict[str, _ColumnState]:
        rows = self._conn.execute(select(physical_columns).where(physical_columns.c.entity_id == entity_id))
        return {
            r.field_id: _ColumnState(
                r.entity_id, r.field_id, r.column_name, r.field_name, r.signature, r.status, r.definition
            )
            for r in rows
        }

    def _sync_columns(self, entity: EntityDef, report: SyncReport) -> None:
        tname = table_name(entity.name)
        states = self._column_states(entity.id)
        fields = {f.id: f for f in entity.fields if self.registry.of(f).has_column}
        # Search-hash columns are tracked like fields of their own, so renames and set-asides follow.
        hashed = [f for f in fields.values() if self.sealing.has_hash(f, self.registry.of(f))]
        hash_fields = {
            f"{f.id}{HASH_ID_SUFFIX}": FieldDef(
                {"id": f"{f.id}{HASH_ID_SUFFIX}", "name": hash_column(f.name), "type": "text"}
            )
            for f in hashed
        }
        fields.update(hash_fields)
        stale_hashes: set[str] = set()  # hash columns whose values must be computed again
        self._drop_field_indexes(
            tname, [s for fid, s in states.items() if s.status == "active" and fid not in fields]
        )
        # Set aside columns of removed fields, and move renamed or restored ones to temporary names.
        temps: list[tuple[_ColumnState, FieldDef]] = []
        for fid, state in states.items():
            wanted = fields.get(fid)
            if state.status == "backup":
                continue
            if wanted is None:
                if state.status == "active":
                    self._rename_column(tname, state.column_name, f"rm_{fid}")
                    self._save_column(state, column_name=f"rm_{fid}", status="removed")
                    report.add(f"set aside field {entity.name}.{state.field_name} (data kept until purge)")
            elif state.column_name != wanted.name:
                temp = f"mv_{fid}"
                self._rename_column(tname, state.column_name, temp)
                self._save_column(state, column_name=temp)  # frees the old name for a swap partner
                temps.append((state, wanted))
        for state, wanted in temps:
            self._rename_column(tname, state.column_name, wanted.name)
            if state.status == "removed":
                stale_hashes.add(wanted.id)
            verb = "restored" if state.status == "removed" else "renamed"
            report.add(f"{verb} field {entity.name}.{state.field_name} -> {wanted.name}")
            self._save_column(state, column_name=wanted.name, field_name=wanted.name, status="active")
        for fid, wanted in fields.items():
            found = states.get(fid)
            signature = field_signature(wanted, self.registry, self.sealing)
            if found is None:
                self._add_column(
                    tname, wanted, field_column_type(entity, wanted, self.registry, self.sealing)
                )
                stale_hashes.add(fid)
                self._conn.execute(
                    physical_columns.insert().values(
                        entity_id=entity.id,
                        field_id=fid,
                        column_name=wanted.name,
                        field_name=wanted.name,
                        signature=signature,
                        status="active",
                        definition=wanted.doc,
                    )
                )
                report.add(f"added field {entity.name}.{wanted.name}")
                continue
            state = found
            self._follow_entity_rename(state)
            old_field = FieldDef(state.definition)
            if state.signature != signature or old_field.type != wanted.type:
                self._convert_column(entity, tname, state, old_field, wanted, signature, report)
                stale_hashes.add(f"{fid}{HASH_ID_SUFFIX}")
            if state.definition != wanted.doc:
                self._save_column(state, definition=wanted.doc)
        for definition in hashed:
            if f"{definition.id}{HASH_ID_SUFFIX}" in stale_hashes:
                self._fill_search_hashes(entity, tname, definition, report)

    def _follow_entity_rename(self, state: _ColumnState) -> None:
        """Point a link column's recorded target at its entity's new name; the stored ids stay valid."""
        old_target = state.definition.get("target")
        if state.definition.get("type") != "link" or old_target not in self._entity_ids:
            return
        target = self._wanted.get(self._entity_ids[old_target])
        if target is None or target.name == old_target:
            return
        definition = {**state.definition, "target": target.name}
        retargeted = FieldDef(definition)
        signature = self.registry.of(retargeted).column_signature(retargeted)
        self._save_column(state, definition=definition, signature=signature)

    def _add_column(self, tname: str, wanted: FieldDef, column_type: Any) -> None:
        field_type = self.registry.of(wanted)
        ddl = f"ALTER TABLE {self._quote(tname)} ADD COLUMN {self._quote(wanted.name)} "
        ddl += column_type.compile(dialect=self._conn.dialect)
        reference = field_type.foreign_key(wanted)
        if isinstance(column_type, SealedType):
            pass  # ciphertext references nothing
        elif reference is not None:
            target, on_delete = reference
            ddl += f" REFERENCES {self._quote(table_name(target))}(id) ON DELETE {_ON_DELETE_SQL[on_delete]}"
        elif wanted.type == "attachment":
            ddl += f" REFERENCES {self._quote(attachments.name)}(id) ON DELETE SET NULL"
        self._ddl(ddl)

    def _convert_column(
        self,
        entity: EntityDef,
        tname: str,
        state: _ColumnState,
        old_field: FieldDef,
        wanted: FieldDef,
        signature: str,
        report: SyncReport,
    ) -> None:
        old_type = self.registry.get(old_field.type)
        new_type = self.registry.of(wanted)
        source = Table(tname, MetaData(), *system_columns(entity)[:1])
        value_col = _typed_column(state.column_name, self._stored_type(entity, state, old_field))
        new_column_type = field_column_type(entity, wanted, self.registry, self.sealing)
        source.append_column(value_col)
        converted: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        failure_count = 0
        for row in self._conn.execute(select(source.c.id, value_col).order_by(source.c.id)):
            try:
                value = new_type.convert(wanted, old_field, old_type, row[1])
            except ValueProblem as exc:
                failure_count += 1
                if len(failures) < _REPORT_LIMIT:
                    text = old_type.to_text(old_field, row[1])
                    if old_field.get("sensitive") or wanted.get("sensitive"):
                        text = HIDDEN  # a refusal must not show a sensitive value
                    failures.append({"id": row[0], "value": text[:100], "message": exc.message})
                continue
            converted.append({"_id": row[0], "_value": value, "_old": row[1]})
        if failure_count:
            index = next(i for i, f in enumerate(entity.fields) if f.id == wanted.id)
            raise SchemaChangeRefused(
                f"{failure_count} record(s) of {entity.name} have {wanted.name} values that cannot become "
                f"{wanted.type}; change or clear them first",
                [
                    Problem(
                        f"entity.{entity.name}.fields[{index}].type",
                        f"{failure_count} value(s) cannot be converted",
                        "conversion",
                    )
                ],
                records=failures,
                failed_count=failure_count,
            )
        if state.signature == signature:
            # Same column: store only the values the new type normalises (e.g. e-mail domains, phones).
            changed = [row for row in converted if row["_value"] != row["_old"]]
            self._write_values(entity, tname, state.column_name, new_column_type, changed)
            self._save_column(state, signature=signature)
            report.add(f"checked {entity.name}.{wanted.name} values as {wanted.type}")
            return
        if SEALED_SIGNATURE in (state.signature, signature):
            # Encrypting or decrypting: replace the column without keeping the other form as a backup,
            # so no clear copy of an encrypted field stays behind (and no stale ciphertext either).
            self._drop_field_indexes(tname, [state])
            temp = f"mv_{state.field_id}"
            self._rename_column(tname, state.column_name, temp)
            self._add_column(tname, wanted, new_column_type)
            filled = [row for row in converted if row["_value"] is not None]
            self._write_values(entity, tname, wanted.name, new_column_type, filled)
            self._drop_column(tname, temp)
            self._save_column(state, column_name=wanted.name, signature=signature, status="active")
            verb = "encrypted" if signature == SEALED_SIGNATURE else "decrypted"
            report.add(f"{verb} {entity.name}.{wanted.name} ({len(filled)} values)")
            return
        # Keep the old column as a backup (purge drops it) and fill a new one.
        self._drop_field_indexes(tname, [state])
        backup = self._backup_name(state)
        self._rename_column(tname, state.column_name, backup)
        self._conn.execute(
            physical_columns.insert().values(
                entity_id=state.entity_id,
                field_id=f"{state.field_id}@{backup}",
                column_name=backup,
                field_name=state.field_name,
                signature=state.signature,
                status="backup",
                definition=state.definition,
            )
        )
        self._add_column(tname, wanted, new_column_type)
        filled = [row for row in converted if row["_value"] is not None]
        self._write_values(entity, tname, wanted.name, new_column_type, filled)
        self._save_column(state, column_name=wanted.name, signature=signature, status="active")
        report.add(f"converted {entity.name}.{wanted.name} to {wanted.type} ({len(converted)} records)")

    def _write_values(
        self, entity: EntityDef, tname: str, column_name: str, column_type: Any, rows: list[dict[str, Any]]
    ) -> None:
        """Write converted values (``_id`` and ``_value`` of each row) into one column."""
        target = Table(tname, MetaData(), *system_columns(entity)[:1])
        target.append_column(_typed_column(column_name, column_type))
        statement = (
            target.update()
            .where(target.c.id == bindparam("_id"))
            .values({column_name: bindparam("_value", type_=column_type)})
        )
        for start in range(0, len(rows), _BATCH):
            batch = [{"_id": row["_id"], "_value": row["_value"]} for row in rows[start : start + _BATCH]]
            self._conn.execute(statement, batch)

    def _stored_type(self, entity: EntityDef, state: _ColumnState, old_field: FieldDef) -> Any:
        """Return the type that reads a column as it is stored now (ciphertext needs the keyring)."""
        old_type = self.registry.get(old_field.type)
        if state.signature != SEALED_SIGNATURE:
            return old_type.column_type(old_field)
        if self.sealing.keyring is None:
            message = (
                f"{entity.name}.{old_field.name} is stored encrypted but no encryption keys are configured"
            )
            raise SchemaChangeRefused(message, [Problem(f"entity.{entity.name}", message, "encryption")])
        aad = field_aad(entity.id, state.field_id)
        return SealedType(FieldSeal(self.sealing.keyring, old_type, old_field, aad, False))

    def _fill_search_hashes(
        self, entity: EntityDef, tname: str, definition: FieldDef, report: SyncReport
    ) -> None:
        """Compute the search hash of every stored value of an encrypted field."""
        column_type = field_column_type(entity, definition, self.registry, self.sealing)
        assert isinstance(column_type, SealedType)
        source = Table(tname, MetaData(), *system_columns(entity)[:1])
        value_col = _typed_column(definition.name, column_type)
        source.append_column(value_col)
        rows = [
            {"_id": row[0], "_value": column_type.seal.search_hash(row[1])}
            for row in self._conn.execute(select(source.c.id, value_col).where(value_col.is_not(None)))
        ]
        self._write_values(entity, tname, hash_column(definition.name), Text(), rows)
        report.add(f"computed search hashes of {entity.name}.{definition.name} ({len(rows)} values)")

    def _backup_name(self, state: _ColumnState) -> str:
        taken = {s.column_name for s in self._column_states(state.entity_id).values()}
        n = 1
        while f"bk{n}_{state.field_id}" in taken:
            n += 1
        return f"bk{n}_{state.field_id}"

    def _save_column(self, state: _ColumnState, **values: Any) -> None:
        for key, value in values.items():
            setattr(state, key, value)
        self._conn.execute(
            physical_columns.update()
            .where(
                (physical_columns.c.entity_id == state.entity_id)
                & (physical_columns.c.field_id == state.field_id)
            )
            .values(**values)
        )

    # --- indexes --------------------------------------------------------------------------
    def _existing_indexes(self, tname: str) -> dict[str, tuple[list[str], bool]]:
        found = inspect(self._conn).get_indexes(tname)
        return {
            ix["name"]: ([str(c) for c in ix["column_names"]], bool(ix["unique"]))
            for ix in found
            if ix["name"]
        }

    def _drop_field_indexes(self, tname: str, states: list[_ColumnState]) -> None:
        if not states:
            return
        names = {s.column_name for s in states}
        for index_name, (columns, _unique) in self._existing_indexes(tname).items():
            if names.intersection(columns):
                self._ddl(f"DROP INDEX {self._quote(index_name)}")

    def _sync_indexes(self, entity: EntityDef, report: SyncReport) -> None:
        tname = table_name(entity.name)
        existing = self._existing_indexes(tname)
        wanted = {spec.name: spec for spec in desired_indexes(entity, self.registry, self.sealing)}
        for name, (columns, _unique) in existing.items():
            spec = wanted.get(name)
            if (name.startswith(("ix_", "ux_"))) and (spec is None or list(spec.columns) != columns):
                self._ddl(f"DROP INDEX {self._quote(name)}")
                existing_cols = ", ".join(columns)
                report.add(f"dropped index {name} on {tname} ({existing_cols})")
        existing = self._existing_indexes(tname)
        for name, spec in wanted.items():
            if name in existing:
                continue
            if spec.unique:
                self._check_no_duplicates(entity, tname, spec)
            cols = ", ".join(self._quote(c) for c in spec.columns)
            keyword = "UNIQUE " if spec.unique else ""
            self._ddl(f"CREATE {keyword}INDEX {self._quote(name)} ON {self._quote(tname)} ({cols})")
            report.add(f"created {keyword.lower()}index on {tname} ({', '.join(spec.columns)})")

    def _check_no_duplicates(self, entity: EntityDef, tname: str, spec: Any) -> None:
        # Typed columns, so the values named in the refusal read as entered (not as stored on SQLite).
        src = build_table(entity, self.registry, MetaData(), self.sealing)
        cols: list[Any] = [src.c[c] for c in spec.columns]
        not_null = [c.is_not(None) for c in cols]
        query = (
            select(*cols, func.count().label("n"), func.min(src.c.id).label("first_id"))
            .where(*not_null)
            .group_by(*cols)
            .having(func.count() > 1)
            .limit(_REPORT_LIMIT)
        )
        duplicates = self._conn.execute(query).all()
        if duplicates:
            names = ", ".join(spec.columns)
            records = [
                {
                    "values": [
                        self._text(entity, c, v) for c, v in zip(spec.columns, row[: len(cols)], strict=True)
                    ],
                    "count": row.n,
                    "first_id": row.first_id,
                }
                for row in duplicates
            ]
            raise SchemaChangeRefused(
                f"{entity.name}: existing records repeat values of ({names}); make them unique first",
                [Problem(f"entity.{entity.name}", f"duplicate values in ({names})", "duplicates")],
                records=records,
            )

    def _text(self, entity: EntityDef, name: str, value: Any) -> str:
        definition = entity.field(name)
        if definition is None:
            return str(value)
        text = self.registry.of(definition).to_text(definition, value)
        return HIDDEN if definition.get("sensitive") else text

    # --- DDL helpers ----------------------------------------------------------------------
    def _ddl(self, statement: str) -> None:
        self._conn.exec_driver_sql(statement)

    def _rename_column(self, tname: str, old: str, new: str) -> None:
        self._ddl(f"ALTER TABLE {self._quote(tname)} RENAME COLUMN {self._quote(old)} TO {self._quote(new)}")

    def _drop_column(self, tname: str, name: str) -> None:
        # Never rebuild the table on SQLite: dropping it would fire ON DELETE actions of the tables
        # that link to it. Its DROP COLUMN handles the column-level REFERENCES that _add_column writes.
        self._drop_field_indexes(tname, [_ColumnState("", "", name, name, "", "active", {})])
        self._ddl(f"ALTER TABLE {self._quote(tname)} DROP COLUMN {self._quote(name)}")


def _typed_column(name: str, type_: Any) -> Any:
    from sqlalchemy import Column

    return Column(name, type_)
