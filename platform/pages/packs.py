"""The studio's industry packs: what is bundled and installed; install, preview and upgrade (with the
conflict list), uninstall (records kept, or deleted when asked) and export the site as a pack.

Every change goes through the same pack services as /api/v1/packs and `crm pack`. Administrators only.
The old /admin/packs address sends the reader here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from crm_platform.auth.passwords import check_password_policy, hash_password
from crm_platform.i18n import current_locale, t
from crm_platform.pages.packwords import conflict_rows, pack_error
from crm_platform.pages.studioadmin import admin_page, entity_choices, render
from crm_platform.services import services
from industry_templates.export import export_zip
from industry_templates.installer import bundled_folder, bundled_packs, install_pack
from industry_templates.packfiles import read_pack
from industry_templates.uninstall import pack_rows, uninstall_pack
from industry_templates.upgrade import upgrade_pack
from industry_templates.versionspec import parse_version
from metamodel.errors import CrmError

# Nested under the studio at start-up: endpoints read "studio.packs.<view>".
bp = Blueprint("packs", __name__)
# The address the packs page had before the studio took it in.
legacy_bp = Blueprint("pack_pages", __name__)


def _bundled_name(name: str) -> str:
    if name not in bundled_packs():
        abort(404, description=f"no bundled pack '{name[:40]}'")
    return name


def _rows() -> list[dict[str, Any]]:
    """Return one row per bundled or installed pack: label, versions, entities and what can be done."""
    locale = current_locale()
    installed = {r["name"]: r for r in pack_rows(services())}
    entity_labels = dict(entity_choices())
    rows = []
    for name in sorted(set(bundled_packs()) | set(installed)):
        found, _ = read_pack(bundled_folder(name)) if name in bundled_packs() else (None, [])
        row = installed.get(name)
        label = (found.manifest.get("label") if found else (row or {}).get("label")) or {}
        about = (found.manifest.get("description") if found else (row or {}).get("description")) or {}
        have = row["version"] if row and row["status"] == "installed" else None
        available = found.version if found else None
        rows.append(
            {
                "name": name,
                "label": label.get(locale) or label.get("en") or name,
                "description": (about.get(locale) or about.get("en")) if isinstance(about, dict) else about,
                "installed": have,
                "installed_at": (row or {}).get("installed_at", "")[:10] if have else None,
                # Child tables belong to their parent entity: the admin knows the pack by its own entities.
                "entities": [
                    entity_labels[e] for e in (row or {}).get("entities") or [] if e in entity_labels
                ],
                "kept": bool(row and row["status"] != "installed"),
                "available": available,
                "can_install": available is not None and have is None,
                "can_upgrade": bool(available and have and parse_version(available) > parse_version(have)),
            }
        )
    return rows


def _page(status: int = 200, **extra: Any) -> Any:
    return render("studio/packs.html", status, rows=_rows(), section="packs", **extra)


@legacy_bp.get("/admin/packs")
def old_address() -> Any:
    """The packs page moved into the studio."""
    return redirect(url_for("studio.packs.packs"), 301)


@bp.get("/packs")
@admin_page
def packs() -> Any:
    """List the packs, with the export form."""
    return _page()


@bp.post("/packs/<name>/install")
@admin_page
def install(name: str) -> Any:
    """Install a bundled pack, with its sample data when ticked."""
    name = _bundled_name(name)
    password = request.form.get("demo_password") or None
    try:
        if password:
            check_password_policy(password, "")
        report = install_pack(
            services(),
            name,
            with_sample_data=request.form.get("with_sample_data") == "on",
            actor=current_user.actor(),
            password_hash=hash_password(password) if password else None,
        )
    except CrmError as exc:
        return _page(exc.status if 400 <= exc.status < 500 else 422, error=pack_error(exc))
    flash(t("packs.installed_ok", name=report.name, version=report.version, records=report.records))
    return redirect(url_for("studio.packs.packs"))


@bp.post("/packs/<name>/upgrade")
@admin_page
def upgrade(name: str) -> Any:
    """Upgrade to the bundled version; a preview shows the changes and conflicts without writing."""
    name = _bundled_name(name)
    dry_run = request.form.get("dry_run") == "1"
    try:
        report = upgrade_pack(services(), name, dry_run=dry_run, actor=current_user.actor())
    except CrmError as exc:
        return _page(exc.status if 400 <= exc.status < 500 else 422, error=pack_error(exc))
    if not dry_run:
        flash(
            t(
                "packs.upgraded_ok",
                name=report.name,
                version=report.to_version,
                conflicts=len(report.conflicts),
            )
        )
    return _page(report=report, conflicts=conflict_rows(report.conflicts))


@bp.post("/packs/<name>/uninstall")
@admin_page
def uninstall(name: str) -> Any:
    """Uninstall a pack (its records are kept for a later install unless "delete records" is ticked);
    for a pack uninstalled before, delete the records it left."""
    purge = request.form.get("purge") == "on"
    try:
        report = uninstall_pack(services(), name[:80], purge=purge, actor=current_user.actor())
    except CrmError as exc:
        return _page(exc.status if 400 <= exc.status < 500 else 422, error=pack_error(exc))
    flash(t("packs.purged_ok" if purge else "packs.uninstalled_ok", name=report.name))
    return redirect(url_for("studio.packs.packs"))


@bp.post("/packs/export")
@admin_page
def export() -> Any:
    """Download the site's published configuration and roles as a pack (.zip)."""
    name = (request.form.get("name") or "").strip()[:80]
    version = (request.form.get("version") or "").strip()[:40]
    label = {"en": request.form.get("label_en") or "", "zh-CN": request.form.get("label_zh") or ""}
    try:
        data = export_zip(
            services(), name=name, version=version, label={k: v.strip()[:200] for k, v in label.items() if v}
        )
    except CrmError as exc:
        return _page(exc.status if 400 <= exc.status < 500 else 422, error=pack_error(exc), form=request.form)
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{version}.zip"'
    return response
