"""Upgrading an installed pack: a 3-way merge that keeps the site's own changes and reports conflicts.

base = the pack's documents as installed (sys_pack), theirs = the new pack version, ours = the site's
draft. A spot only the pack changed takes the pack's value; a spot only the site changed keeps the
site's; a spot both changed differently keeps the site's value and is reported as a conflict. The
upgrade runs in one transaction like an install; a dry run does all of it and rolls back.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from industry_templates import checks, siteaccess
from industry_templates.installer import PackConflict, PackInvalid, PackServices, admin_actor, load_pack
from industry_templates.merge import MISSING, MergeConflict, merge3
from industry_templates.packfiles import Pack
from industry_templates.store import InstalledPack, installed_packs, save_pack
from industry_templates.versionspec import parse_version
from metamodel.definitions import DOCUMENT_KINDS, Bundle
from metamodel.errors import NotFound, Problem
from metamodel.records.hooks import Actor
from metamodel.validation import assign_ids
from metamodel.versions import VersionInfo


@dataclass
class UpgradeReport:
    """What an upgrade did (or, in a dry run, would do)."""

    name: str
    from_version: str
    to_version: str
    dry_run: bool
    metadata_version: int | None = None
    applied: list[str] = field(default_factory=list)
    conflicts: list[MergeConflict] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the CLI and the API."""
        found = dataclasses.asdict(self)
        found["conflicts"] = [c.as_dict() for c in self.conflicts]
        return found


class _DryRun(Exception):
    """Raised at the end of a dry run so its transaction rolls back."""


def upgrade_pack(
    services: PackServices,
    path_or_name: str | Path | Pack,
    *,
    dry_run: bool = False,
    actor: Actor | None = None,
    plugins_available: Mapping[str, str] | None = None,
    comment: str | None = None,
) -> UpgradeReport:
    """Upgrade an installed pack to the given (newer) version, keeping the site's customisations."""
    pack = path_or_name if isinstance(path_or_name, Pack) else load_pack(path_or_name)
    actor = admin_actor(actor, services)
    plugins = checks.available_plugins() if plugins_available is None else plugins_available
    with services.engine.connect() as conn:
        transaction = conn.begin()
        try:
            report = _upgrade(services, conn, pack, actor, plugins, comment, dry_run)
            if dry_run:
                raise _DryRun
            transaction.commit()
        except _DryRun:
            transaction.rollback()
        except BaseException:
            transaction.rollback()
            raise
    return report


def _upgrade(
    services: PackServices,
    conn: Connection,
    pack: Pack,
    actor: Actor,
    plugins: Mapping[str, str],
    comment: str | None,
    dry_run: bool,
) -> UpgradeReport:
    installed = installed_packs(conn)
    row = installed.get(pack.name)
    if row is None:
        raise NotFound(f"pack '{pack.name}' is not installed; install it first")
    _check_newer(row, pack)
    have = {p.name: p.version for p in installed.values() if p.name != pack.name}
    problems = checks.dependency_problems(pack, have, plugins, checks.platform_version())
    if problems:
        raise PackInvalid(
            f"pack '{pack.name}' {pack.version} cannot be installed on this site; nothing was written",
            problems,
        )
    report = UpgradeReport(pack.name, row.version, pack.version, dry_run)
    draft = services.metadata.draft(conn)
    merged = merge_metadata(row.base(), draft, pack.bundle, report)
    site_roles = siteaccess.site_roles(conn)
    roles = merge_roles(row.documents.get("roles") or {}, site_roles, pack.roles, report)
    problems = checks.reference_problems(_without_records(pack), merged, set(site_roles) | set(roles))
    if problems:
        raise PackInvalid(
            f"pack '{pack.name}' {pack.version} does not fit this site; nothing was written", problems
        )
    info: VersionInfo = services.metadata.publish_bundle(
        conn, merged, actor.username, comment or f"upgrade pack {pack.name} {row.version} -> {pack.version}"
    )
    report.metadata_version, report.changes = info.number, list(info.changes)
    for name in sorted(set(row.documents.get("roles") or {}) | set(pack.roles)):
        if name in roles:
            siteaccess.write_role(conn, roles[name])
            report.roles.append(name)
        elif name in site_roles:
            siteaccess.remove_entity_permissions(conn, [], [name], drop_all=True)
    save_pack(
        conn,
        pack.name,
        pack.version,
        pack.manifest,
        pack.documents(),
        user=actor.username,
        metadata_version=info.number,
        now=actor.now or services.clock(),
    )
    return report


def _check_newer(row: InstalledPack, pack: Pack) -> None:
    have, new = parse_version(row.version), parse_version(pack.version)
    if new == have:
        raise PackConflict(f"pack '{pack.name}' {pack.version} is already installed")
    if new < have:
        raise PackConflict(
            f"pack '{pack.name}' {row.version} is installed; {pack.version} is older (downgrades are not supported)"
        )


def _without_records(pack: Pack) -> Pack:
    # Sample data is only loaded by an install; an upgrade checks roles and the metadata.
    return dataclasses.replace(pack, records=None, org=None)


def strip_ids(doc: Any) -> Any:
    """Return an entity document without entity and field ids (the site's ids are matched by name)."""
    if not isinstance(doc, dict):
        return doc
    found = {k: copy.deepcopy(v) for k, v in doc.items() if k != "id"}
    if isinstance(found.get("fields"), list):
        found["fields"] = [
            {k: v for k, v in f.items() if k != "id"} if isinstance(f, dict) else f for f in found["fields"]
        ]
    return found


def merge_metadata(base: Bundle, ours: Bundle, theirs: Bundle, report: UpgradeReport) -> Bundle:
    """Return the site's draft with the pack's changes from ``base`` to ``theirs`` merged in."""
    merged = Bundle.from_json(ours.to_json())
    for kind in DOCUMENT_KINDS:
        names = set(base.docs(kind)) | set(theirs.docs(kind))
        for name in sorted(names):
            b, t = base.docs(kind).get(name, MISSING), theirs.docs(kind).get(name, MISSING)
            o = ours.docs(kind).get(name, MISSING)
            if kind == "entity":
                b, o, t = (strip_ids(v) if v is not MISSING else v for v in (b, o, t))
            result = merge3(b, o, t, f"{kind}.{name}")
            report.applied += result.applied
            report.conflicts += result.conflicts
            if result.value is MISSING:
                merged.documents[kind].pop(name, None)
            else:
                merged.documents[kind][name] = result.value
    assign_ids(merged, ours)
    return merged


def merge_roles(
    base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any], report: UpgradeReport
) -> dict[str, dict[str, Any]]:
    """Return the merged pack roles by name (a role missing from the result is to be removed)."""
    merged: dict[str, dict[str, Any]] = {}
    for name in sorted(set(base) | set(theirs)):
        b, o, t = (
            siteaccess.normal_role(src[name]) if name in src else MISSING for src in (base, ours, theirs)
        )
        result = merge3(b, o, t, f"role.{name}")
        report.applied += result.applied
        report.conflicts += result.conflicts
        if result.value is not MISSING:
            merged[name] = result.value
    return merged


def conflict_problems(report: UpgradeReport) -> list[Problem]:
    """Return the conflicts as problems (path and a one-line message) for the CLI and the API."""
    return [
        Problem(
            c.path,
            f"changed on the site and in the pack; the site's value was kept (pack: {_short(c.theirs)})",
            "conflict",
        )
        for c in report.conflicts
    ]


def _short(value: Any) -> str:
    text = "absent" if value is MISSING else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
