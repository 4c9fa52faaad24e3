"""Validating and installing industry packs: all checks first, then one transaction for every write.

The metadata publish, the roles, the sample org and records and the sys_pack row share one database
transaction (DDL is transactional on PostgreSQL, and on SQLite as the engine is set up), so a pack
that fails anywhere leaves the site exactly as it was.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from industry_templates import checks, siteaccess
from industry_templates.packfiles import Pack, read_pack
from industry_templates.sampledata import SampleLoader
from industry_templates.store import REMOVED, all_packs, installed_packs, save_pack
from metamodel.definitions import DOCUMENT_KINDS, Bundle
from metamodel.errors import Conflict, CrmError, NotFound, Problem
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.model import SiteModel
from metamodel.records.hooks import Actor, RecordHooks
from metamodel.records.runtime import RecordRuntime
from metamodel.sitesettings import site_zone
from metamodel.validation import BundleCheck, assign_ids, validate_bundle
from metamodel.versions import MetadataService, VersionInfo

BUNDLED_DIR = Path(__file__).resolve().parent / "packs"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class PackInvalid(CrmError):
    """A pack file, its dependencies or its fit with the site is wrong; problems name files and paths."""

    code = "pack_invalid"
    status = 422


class PackConflict(Conflict):
    """The pack clashes with the site's state (already installed, needed by another pack, ...)."""

    code = "pack_conflict"


class PackServices(Protocol):
    """What the pack engine needs of the app's services (``CrmServices`` has it all)."""

    @property
    def engine(self) -> Engine: ...
    @property
    def metadata(self) -> MetadataService: ...
    @property
    def hooks(self) -> RecordHooks: ...
    @property
    def field_types(self) -> FieldTypeRegistry: ...
    @property
    def clock(self) -> Callable[[], dt.datetime]: ...


@dataclass
class InstallReport:
    """What an install did."""

    name: str
    version: str
    metadata_version: int
    changes: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    units: int = 0
    users: int = 0
    records: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the CLI and the API."""
        return dataclasses.asdict(self)


def bundled_packs() -> list[str]:
    """Return the names of the packs shipped in industry_templates/packs/."""
    if not BUNDLED_DIR.is_dir():
        return []
    # Only folders named like a pack: a side folder such as "retail-1.1" (a next version) is not listed.
    return sorted(
        p.name for p in BUNDLED_DIR.iterdir() if _NAME.match(p.name) and (p / "pack.json").is_file()
    )


def bundled_folder(name: str) -> Path:
    """Return the folder of the bundled pack ``name`` (which may not exist)."""
    return BUNDLED_DIR / name


def pack_path(path_or_name: str | Path) -> Path:
    """Return the folder of a bundled pack by name, or the given folder."""
    text = str(path_or_name)
    if _NAME.match(text) and (BUNDLED_DIR / text / "pack.json").is_file():
        return BUNDLED_DIR / text
    path = Path(path_or_name)
    if path.is_dir():
        return path
    known = ", ".join(bundled_packs()) or "none"
    raise NotFound(f"'{text}' is neither a pack folder nor a bundled pack (bundled: {known})")


def load_pack(path_or_name: str | Path) -> Pack:
    """Read and structurally check a pack; PackInvalid lists every problem."""
    pack, problems = read_pack(pack_path(path_or_name))
    if pack is None or problems:
        raise PackInvalid(
            f"the pack at {path_or_name} has {len(problems)} problem(s); nothing was written", problems
        )
    return pack


def validate_pack(
    path_or_name: str | Path,
    services: PackServices | None = None,
    *,
    plugins_available: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Return every problem of a pack: files, schemas and, merged onto a site, the whole metadata.

    Without ``services`` the pack is checked on an empty site with the bundled packs it depends on.
    """
    try:
        pack, problems = read_pack(pack_path(path_or_name))
    except CrmError as exc:
        return [Problem("", exc.message, exc.code)]
    if pack is None or problems:
        return problems
    if services is not None:
        with services.engine.connect() as conn:
            draft = services.metadata.draft(conn)
            installed = installed_packs(conn)
            have = {p.name: p.version for p in installed.values() if p.name != pack.name}
            roles = set(siteaccess.site_roles(conn))
        if pack.name in installed:
            # Checked as the next version of itself: its installed documents make no clash.
            for kind, docs in installed[pack.name].base().documents.items():
                for name in docs:
                    draft.documents[kind].pop(name, None)
        registry, bundle_checks = services.field_types, services.metadata.checks
    else:
        draft, have, roles = _dependency_site(pack)
        registry, bundle_checks = _standalone_checks()
    plugins = checks.available_plugins() if plugins_available is None else plugins_available
    problems += checks.dependency_problems(pack, have, plugins, checks.platform_version())
    clashes = _clash_problems(pack, draft)
    if clashes:
        return problems + clashes
    merged = _merged(draft, pack)
    problems += checks.reference_problems(pack, merged, roles)
    return problems + validate_bundle(merged, registry, bundle_checks)


def install_pack(
    services: PackServices,
    path_or_name: str | Path | Pack,
    *,
    with_sample_data: bool = False,
    actor: Actor | None = None,
    plugins_available: Mapping[str, str] | None = None,
    password_hash: str | None = None,
    comment: str | None = None,
) -> InstallReport:
    """Install a pack in one transaction: metadata version, roles, sample org and records, sys_pack row.

    ``password_hash`` is stored for the demo users of org.json (without it they cannot sign in).
    """
    pack = path_or_name if isinstance(path_or_name, Pack) else load_pack(path_or_name)
    actor = admin_actor(actor, services)
    plugins = checks.available_plugins() if plugins_available is None else plugins_available
    with services.engine.begin() as conn:
        installed = installed_packs(conn)
        if pack.name in installed:
            raise PackConflict(
                f"pack '{pack.name}' {installed[pack.name].version} is already installed; upgrade it instead"
            )
        have = {p.name: p.version for p in installed.values()}
        problems = checks.dependency_problems(pack, have, plugins, checks.platform_version())
        draft = services.metadata.draft(conn)
        problems += _clash_problems(pack, draft)
        merged = _merged(draft, pack, _kept_ids(conn, pack.name))
        if not problems:
            problems += checks.reference_problems(pack, merged, set(siteaccess.site_roles(conn)))
        if problems:
            raise PackInvalid(
                f"pack '{pack.name}' cannot be installed on this site; nothing was written", problems
            )
        info = services.metadata.publish_bundle(
            conn, merged, actor.username, comment or f"install pack {pack.name} {pack.version}"
        )
        report = InstallReport(pack.name, pack.version, info.number, list(info.changes))
        for role in pack.roles.values():
            siteaccess.add_role(conn, role)
            report.roles.append(role["name"])
        if with_sample_data:
            _load_sample(services, conn, pack, merged, info, actor, password_hash, report)
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


def _load_sample(
    services: PackServices,
    conn: Connection,
    pack: Pack,
    bundle: Bundle,
    info: VersionInfo,
    actor: Actor,
    password_hash: str | None,
    report: InstallReport,
) -> None:
    if pack.org is not None:
        report.units = siteaccess.ensure_units(conn, pack.org.get("units") or [])
        report.users = siteaccess.ensure_users(
            conn, pack.org.get("users") or [], password_hash, actor.now or services.clock()
        )
        if pack.org.get("users"):
            siteaccess.set_enforced(conn)
    if pack.records is not None:
        # The new version is not committed yet: compile it here rather than through metadata.model().
        # With the site's sealing, so sample values of sensitive fields are stored encrypted too.
        model = SiteModel(info.number, bundle, services.field_types, services.metadata.sealing)
        model.time_zone = site_zone(conn)  # sample values computed with today() use the site's day
        runtime = RecordRuntime(model, services.engine, services.hooks, services.clock)
        report.records = SampleLoader(runtime, pack.records, actor, conn).load()


def admin_actor(actor: Actor | None, services: PackServices) -> Actor:
    """Return the acting user (the system when none is given) with the operation's time set."""
    actor = actor or Actor(username="system", is_admin=True)
    return actor if actor.now is not None else dataclasses.replace(actor, now=services.clock())


def _clash_problems(pack: Pack, draft: Bundle) -> list[Problem]:
    problems = []
    for kind in DOCUMENT_KINDS:
        for name in sorted(pack.bundle.docs(kind)):
            if name in draft.docs(kind):
                problems.append(
                    Problem(
                        f"metadata/{kind}/{name}.json", f"the site already has a {kind} '{name}'", "clash"
                    )
                )
    return problems


def _merged(draft: Bundle, pack: Pack, kept: Bundle | None = None) -> Bundle:
    merged = Bundle.from_json(draft.to_json())
    for kind in DOCUMENT_KINDS:
        for name, doc in pack.bundle.docs(kind).items():
            merged.documents[kind].setdefault(name, copy.deepcopy(doc))
    if kept is not None:
        assign_ids(merged, kept)  # a re-install takes the ids of the kept tables and columns back
    assign_ids(merged, draft)
    return merged


def _kept_ids(conn: Connection, name: str) -> Bundle | None:
    """Return the entity documents (with ids) an uninstall without purge left behind, if any."""
    row = all_packs(conn).get(name)
    if row is None or row.status != REMOVED:
        return None
    return Bundle.from_json({"entity": row.documents.get("kept_entities") or {}})


def _dependency_site(
    pack: Pack, seen: frozenset[str] = frozenset()
) -> tuple[Bundle, dict[str, str], set[str]]:
    """Return the draft, packs and roles an empty site has after installing the bundled dependencies."""
    bundle, have, roles = Bundle(), {}, set()
    for name in sorted(pack.depends("packs")):
        if name in seen or not (BUNDLED_DIR / name / "pack.json").is_file():
            continue
        dependency, _ = read_pack(BUNDLED_DIR / name)
        if dependency is None:
            continue
        sub_bundle, sub_have, sub_roles = _dependency_site(dependency, seen | {pack.name})
        for kind in DOCUMENT_KINDS:
            for source in (sub_bundle, dependency.bundle):
                for doc_name, doc in source.docs(kind).items():
                    bundle.documents[kind].setdefault(doc_name, copy.deepcopy(doc))
        have.update(sub_have)
        have[dependency.name] = dependency.version
        roles |= sub_roles | set(dependency.roles)
    assign_ids(bundle, None)  # as a site's draft has them
    return bundle, have, roles


def _standalone_checks() -> tuple[FieldTypeRegistry, list[BundleCheck]]:
    from metamodel.fieldtypes import FieldTypeRegistry as Registry
    from metamodel.fieldtypes import register_builtin_field_types
    from metamodel.records.hooks import RecordHooks
    from metamodel.records.runtime import utcnow
    from plugins.loader import Registries, load_plugins
    from rule_engine.actions.base import ActionRegistry
    from rule_engine.actions.builtin import register_builtin_actions
    from rule_engine.assembly import build_rule_engine
    from rule_engine.expressions.functions import FunctionRegistry, register_builtin_functions

    registry = register_builtin_field_types(Registry())
    # The installed plugins' field types, functions and actions, as a site would have them.
    functions = register_builtin_functions(FunctionRegistry())
    actions = register_builtin_actions(ActionRegistry())
    load_plugins(Registries(registry, functions, actions, RecordHooks()), {})
    return registry, [build_rule_engine(registry, utcnow, functions=functions, registry=actions).check_bundle]
