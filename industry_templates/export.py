"""Exporting the site's configuration (active metadata and roles) as a pack folder."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from industry_templates import checks, siteaccess
from industry_templates.archive import zip_folder
from industry_templates.installer import PackServices
from industry_templates.packfiles import LOCALES, check_schema
from industry_templates.upgrade import strip_ids
from industry_templates.versionspec import parse_version
from metamodel.definitions import DOCUMENT_KINDS
from metamodel.errors import CrmError, Problem, RecordInvalid

# Roles every site has (created by migrations), so a pack need not carry them.
BUILTIN_ROLES = frozenset({"auditor"})


class ExportRefused(CrmError):
    """The export folder or the pack details are unusable."""

    code = "export_refused"
    status = 400


def export_pack(
    services: PackServices,
    folder: Path,
    *,
    name: str,
    version: str = "1.0.0",
    label: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the active metadata and the site's roles as a pack in ``folder`` (new or empty); returns the files."""
    manifest = _manifest(name, version, label)
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportRefused(f"{folder}: choose a new or empty folder")
    bundle = services.metadata.model().bundle
    if not any(bundle.documents.values()):
        raise ExportRefused("the site has no published metadata to export")
    with services.engine.connect() as conn:
        site_roles = siteaccess.site_roles(conn)
    written = [_write(folder / "pack.json", manifest)]
    for kind in DOCUMENT_KINDS:
        for doc_name, doc in sorted(bundle.docs(kind).items()):
            body = strip_ids(doc) if kind == "entity" else doc
            written.append(_write(folder / "metadata" / kind / f"{doc_name}.json", body))
    strings = {locale: {"pack.label": manifest["label"][locale]} for locale in LOCALES}
    for role_name, role in sorted(site_roles.items()):
        if role_name in BUILTIN_ROLES:
            continue
        label_ = {loc: role["label"].get(loc) or role_name for loc in LOCALES}
        # Permissions on entities that are no longer published would not install anywhere.
        kept = [p for p in role["permissions"] if p["entity"] == "*" or p["entity"] in bundle.docs("entity")]
        written.append(
            _write(folder / "roles" / f"{role_name}.json", {**role, "label": label_, "permissions": kept})
        )
        for locale in LOCALES:
            strings[locale][f"role.{role_name}.label"] = label_[locale]
    for locale in LOCALES:
        written.append(_write(folder / "translations" / f"{locale}.json", strings[locale]))
    return written


def export_zip(
    services: PackServices, *, name: str, version: str = "1.0.0", label: Mapping[str, str] | None = None
) -> bytes:
    """Return the site's configuration as a pack zip (see export_pack), built in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="crm-export-") as tmp:
        folder = Path(tmp) / "pack"
        export_pack(services, folder, name=name, version=version, label=label)
        return zip_folder(folder)


def _manifest(name: str, version: str, label: Mapping[str, str] | None) -> dict[str, Any]:
    major, minor, _ = parse_version(checks.platform_version())
    manifest: dict[str, Any] = {
        "format": 1,
        "name": name,
        "version": version,
        "label": {loc: (label or {}).get(loc) or name for loc in LOCALES},
        "platform": f">={major}.{minor}",
        "depends": {"packs": {}, "plugins": {}},
    }
    problems = check_schema("pack", manifest, "pack.json")
    if problems:
        raise RecordInvalid(
            "the pack name, version or label is not valid",
            [Problem(p.path, p.message, p.code) for p in problems],
        )
    return manifest


def _write(path: Path, body: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path
