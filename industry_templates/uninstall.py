"""Uninstalling a pack: its documents leave the metadata; record tables are kept unless purged."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from industry_templates import checks, siteaccess
from industry_templates.installer import PackConflict, PackServices, admin_actor
from industry_templates.store import REMOVED, all_packs, installed_packs, save_pack
from metamodel.definitions import DOCUMENT_KINDS
from metamodel.errors import MetadataInvalid, NotFound
from metamodel.records.hooks import Actor
from metamodel.systables import packs, physical_columns, physical_tables


@dataclass
class UninstallReport:
    """What an uninstall did."""

    name: str
    version: str
    metadata_version: int | None
    purged: bool
    removed: list[str] = field(default_factory=list)  # documents, as kind.name
    changes: list[str] = field(default_factory=list)
    roles_removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the CLI and the API."""
        return dataclasses.asdict(self)


def uninstall_pack(
    services: PackServices, name: str, *, purge: bool = False, actor: Actor | None = None
) -> UninstallReport:
    """Remove a pack's documents and permissions in one transaction; ``purge`` also drops its record tables.

    Without purge the tables are set aside and the pack row remembers the entity and field ids, so
    installing the pack again brings the records back.
    """
    actor = admin_actor(actor, services)
    with services.engine.begin() as conn:
        installed = installed_packs(conn)
        row = installed.get(name)
        if row is None:
            left = all_packs(conn).get(name)
            if left is not None and purge:
                return _purge_kept(conn, left.name, left.version, left.documents)
            raise NotFound(f"pack '{name}' is not installed")
        needed_by = checks.dependents(name, installed)
        if needed_by:
            raise PackConflict(
                f"pack '{name}' is needed by {', '.join(needed_by)}; uninstall those first",
                needed_by=needed_by,
            )
        draft = services.metadata.draft(conn)
        base = row.base()
        kept = {n: d for n, d in draft.docs("entity").items() if n in base.docs("entity")}
        report = UninstallReport(name, row.version, None, purge)
        for kind in DOCUMENT_KINDS:
            for doc_name in sorted(base.docs(kind)):
                if draft.documents[kind].pop(doc_name, None) is not None:
                    report.removed.append(f"{kind}.{doc_name}")
        try:
            info = services.metadata.publish_bundle(
                conn, draft, actor.username, f"uninstall pack {name} {row.version}"
            )
        except MetadataInvalid as exc:
            raise PackConflict(
                f"the site's own documents still use pack '{name}'; change or remove them first", exc.problems
            ) from None
        report.metadata_version, report.changes = info.number, list(info.changes)
        report.roles_removed = siteaccess.remove_entity_permissions(
            conn, sorted(base.docs("entity")), sorted(row.documents.get("roles") or {})
        )
        if purge:
            report.changes += _drop_tables(conn, [str(d["id"]) for d in kept.values() if "id" in d])
            conn.execute(packs.delete().where(packs.c.name == name))
        else:
            documents = {**row.documents, "kept_entities": kept}
            save_pack(
                conn,
                name,
                row.version,
                row.manifest,
                documents,
                user=actor.username,
                metadata_version=info.number,
                now=actor.now or services.clock(),
                status=REMOVED,
            )
    return report


def _purge_kept(conn: Connection, name: str, version: str, documents: dict[str, Any]) -> UninstallReport:
    """Drop the tables an earlier uninstall kept, and forget the pack."""
    kept = documents.get("kept_entities") or {}
    report = UninstallReport(name, version, None, True)
    report.changes = _drop_tables(conn, [str(d["id"]) for d in kept.values() if "id" in d])
    conn.execute(packs.delete().where(packs.c.name == name))
    return report


def _drop_tables(conn: Connection, entity_ids: list[str]) -> list[str]:
    """Drop the set-aside tables of these entities for good (their rows, columns and records)."""
    rows = conn.execute(
        select(physical_tables).where(
            physical_tables.c.entity_id.in_(entity_ids), physical_tables.c.status == "removed"
        )
    ).all()
    if not rows:
        return []
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "sqlite":
        # Lines and links among these tables are dropped together; the check waits for the commit.
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for row in rows:
            conn.exec_driver_sql(f"DROP TABLE {quote(row.table_name)}")
    else:
        conn.exec_driver_sql("DROP TABLE " + ", ".join(quote(r.table_name) for r in rows))
    ids = [r.entity_id for r in rows]
    conn.execute(physical_columns.delete().where(physical_columns.c.entity_id.in_(ids)))
    conn.execute(physical_tables.delete().where(physical_tables.c.entity_id.in_(ids)))
    return [f"dropped table {r.table_name}" for r in rows]


def pack_rows(services: PackServices) -> list[dict[str, Any]]:
    """Return every pack row (installed and uninstalled-with-kept-data) for listings."""
    with services.engine.connect() as conn:
        return [p.as_dict() for p in all_packs(conn).values()]
