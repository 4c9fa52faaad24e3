"""The installed packs: one sys_pack row each, with the documents as installed (the upgrade base)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from metamodel.definitions import Bundle
from metamodel.systables import packs

INSTALLED, REMOVED = "installed", "removed"


@dataclass(frozen=True)
class InstalledPack:
    """One pack as recorded in sys_pack."""

    name: str
    version: str
    status: str
    installed_at: dt.datetime
    installed_by: str | None
    metadata_version: int | None
    manifest: dict[str, Any]
    documents: dict[str, Any]

    def base(self) -> Bundle:
        """Return the pack's metadata documents as installed."""
        return Bundle.from_json(self.documents.get("metadata") or {})

    def entities(self) -> list[str]:
        """Return the names of the entities the pack brought."""
        return sorted((self.documents.get("metadata") or {}).get("entity") or {})

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the API (without the documents)."""
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "label": self.manifest.get("label"),
            "description": self.manifest.get("description"),
            "installed_at": self.installed_at.isoformat().replace("+00:00", "Z"),
            "installed_by": self.installed_by,
            "metadata_version": self.metadata_version,
            "depends": self.manifest.get("depends") or {},
            "entities": self.entities(),
            "translations": self.documents.get("translations") or {},  # the pack's strings per locale
        }


def installed_packs(conn: Connection) -> dict[str, InstalledPack]:
    """Return every installed pack by name (not the uninstalled ones)."""
    return {name: p for name, p in all_packs(conn).items() if p.status == INSTALLED}


def all_packs(conn: Connection) -> dict[str, InstalledPack]:
    """Return every pack row by name, uninstalled ones (status 'removed') included."""
    rows = conn.execute(select(packs).order_by(packs.c.name)).mappings()
    return {row["name"]: InstalledPack(**row) for row in rows}


def save_pack(
    conn: Connection,
    name: str,
    version: str,
    manifest: dict[str, Any],
    documents: dict[str, Any],
    *,
    user: str | None,
    metadata_version: int | None,
    now: dt.datetime,
    status: str = INSTALLED,
) -> None:
    """Record (or replace) a pack row in the caller's transaction."""
    conn.execute(packs.delete().where(packs.c.name == name))
    conn.execute(
        packs.insert().values(
            name=name,
            version=version,
            status=status,
            installed_at=now,
            installed_by=user,
            metadata_version=metadata_version,
            manifest=manifest,
            documents=documents,
        )
    )
