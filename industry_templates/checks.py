"""Checks of a pack against its surroundings: platform, installed packs and plugins, entity references."""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping
from importlib import metadata as importlib_metadata
from typing import Any

from industry_templates.packfiles import Pack
from industry_templates.store import InstalledPack
from industry_templates.versionspec import satisfies
from metamodel.definitions import Bundle
from metamodel.errors import Problem

FALLBACK_PLATFORM_VERSION = "0.1.0"


def platform_version() -> str:
    """Return the installed platform's version (setup.cfg's version)."""
    try:
        return importlib_metadata.version("lowcode-crm")
    except importlib_metadata.PackageNotFoundError:
        return FALLBACK_PLATFORM_VERSION


def available_plugins() -> dict[str, str]:
    """Return the plugins this site has, name -> version (none until a plugin loader is installed)."""
    try:
        loader: Any = importlib.import_module("plugins.loader")
    except ImportError:
        return {}
    found = loader.installed_plugins()
    if isinstance(found, Mapping):
        return {str(k): str(getattr(v, "version", v)) for k, v in found.items()}
    return {str(p.name): str(p.version) for p in found}


def dependency_problems(
    pack: Pack,
    packs: Mapping[str, str],
    plugins: Mapping[str, str],
    platform: str,
) -> list[Problem]:
    """Return what the platform, the installed packs (name -> version) and plugins lack for ``pack``."""
    problems = []
    if not satisfies(platform, str(pack.manifest["platform"])):
        problems.append(
            Problem(
                "pack.json.platform",
                f"needs platform {pack.manifest['platform']}, this is {platform}",
                "dependency",
            )
        )
    for kind, have in (("packs", packs), ("plugins", plugins)):
        for name, spec in sorted(pack.depends(kind).items()):
            where = f"pack.json.depends.{kind}.{name}"
            singular = kind[:-1]
            if name not in have:
                problems.append(
                    Problem(where, f"needs {singular} '{name}' {spec}, which is not installed", "dependency")
                )
            elif not _satisfied(have[name], spec):
                problems.append(
                    Problem(
                        where, f"needs {singular} '{name}' {spec}, installed is {have[name]}", "dependency"
                    )
                )
    return problems


def _satisfied(version: str, spec: str) -> bool:
    try:
        return satisfies(version, spec)
    except ValueError:
        return False


def dependents(name: str, installed: Mapping[str, InstalledPack]) -> list[str]:
    """Return the installed packs that depend on pack ``name``."""
    return sorted(
        other.name
        for other in installed.values()
        if name in ((other.manifest.get("depends") or {}).get("packs") or {})
    )


def reference_problems(pack: Pack, bundle: Bundle, roles: Collection[str]) -> list[Problem]:
    """Return references of roles and sample data to entities, fields and roles that ``bundle`` lacks."""
    problems: list[Problem] = []
    entities = bundle.docs("entity")
    for role_name, role in sorted(pack.roles.items()):
        for index, permission in enumerate(role["permissions"]):
            entity = permission["entity"]
            if entity != "*" and entity not in entities:
                problems.append(
                    Problem(
                        f"roles/{role_name}.json.permissions[{index}].entity",
                        f"no entity '{entity}' in the pack or on the site",
                        "reference",
                    )
                )
    if pack.records is not None:
        problems += _records_problems(pack.records, entities)
    if pack.org is not None:
        known = set(roles) | set(pack.roles)
        for index, person in enumerate(pack.org.get("users") or []):
            for role in person.get("roles") or []:
                if role not in known:
                    problems.append(
                        Problem(
                            f"sample_data/org.json.users[{index}].roles",
                            f"no role '{role}' in the pack or on the site",
                            "reference",
                        )
                    )
    return problems


def _records_problems(data: Mapping[str, Any], entities: Mapping[str, Any]) -> list[Problem]:
    problems = []
    where = "sample_data/records.json"
    order = list(data.get("order") or [])
    for index, entity in enumerate(order):
        if entity not in entities:
            problems.append(Problem(f"{where}.order[{index}]", f"no entity '{entity}'", "reference"))
    for entity in sorted(data.get("records") or {}):
        if entity not in order:
            problems.append(
                Problem(f"{where}.records.{entity}", f"'{entity}' is not listed in 'order'", "reference")
            )
    for entity, key in sorted((data.get("keys") or {}).items()):
        doc = entities.get(entity)
        if doc is None:
            problems.append(Problem(f"{where}.keys.{entity}", f"no entity '{entity}'", "reference"))
        elif key not in {f.get("name") for f in doc.get("fields") or []}:
            problems.append(
                Problem(f"{where}.keys.{entity}", f"entity '{entity}' has no field '{key}'", "reference")
            )
    return problems
