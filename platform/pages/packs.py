"""The administrators' page of industry packs: what is bundled and installed, install and upgrade."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm_platform.auth.passwords import check_password_policy, hash_password
from crm_platform.i18n import current_locale, t
from crm_platform.services import services
from industry_templates.installer import bundled_folder, bundled_packs, install_pack
from industry_templates.packfiles import read_pack
from industry_templates.uninstall import pack_rows
from industry_templates.upgrade import upgrade_pack
from industry_templates.versionspec import parse_version
from metamodel.errors import CrmError

bp = Blueprint("pack_pages", __name__, url_prefix="/admin/packs")


def _admin() -> None:
    if not getattr(current_user, "is_admin", False):
        abort(403, description=t("packs.admin_only"))


def _bundled_name(name: str) -> str:
    if name not in bundled_packs():
        abort(404, description=f"no bundled pack '{name[:40]}'")
    return name


def _rows() -> list[dict[str, Any]]:
    """Return one row per bundled or installed pack: label, versions and what can be done."""
    locale = current_locale()
    installed = {r["name"]: r for r in pack_rows(services())}
    rows = []
    for name in sorted(set(bundled_packs()) | set(installed)):
        found, _ = read_pack(bundled_folder(name)) if name in bundled_packs() else (None, [])
        row = installed.get(name)
        label = (found.manifest.get("label") if found else (row or {}).get("label")) or {}
        have = row["version"] if row and row["status"] == "installed" else None
        available = found.version if found else None
        rows.append(
            {
                "name": name,
                "label": label.get(locale) or label.get("en") or name,
                "installed": have,
                "kept": bool(row and row["status"] != "installed"),
                "available": available,
                "can_install": available is not None and have is None,
                "can_upgrade": bool(available and have and parse_version(available) > parse_version(have)),
            }
        )
    return rows


def _page(status: int = 200, **extra: Any) -> Any:
    return render_template("pages/packs.html", rows=_rows(), **extra), status


@bp.get("")
@login_required
def packs() -> Any:
    """List the packs."""
    _admin()
    return _page()


@bp.post("/<name>/install")
@login_required
def install(name: str) -> Any:
    """Install a bundled pack, with its sample data when ticked."""
    _admin()
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
        return _page(exc.status if 400 <= exc.status < 500 else 422, error=exc)
    flash(t("packs.installed_ok", name=report.name, version=report.version, records=report.records))
    return redirect(url_for("pack_pages.packs"))


@bp.post("/<name>/upgrade")
@login_required
def upgrade(name: str) -> Any:
    """Upgrade to the bundled version; a preview shows the changes and conflicts without writing."""
    _admin()
    name = _bundled_name(name)
    dry_run = request.form.get("dry_run") == "1"
    try:
        report = upgrade_pack(services(), name, dry_run=dry_run, actor=current_user.actor())
    except CrmError as exc:
        return _page(exc.status if 400 <= exc.status < 500 else 422, error=exc)
    if not dry_run:
        flash(
            t(
                "packs.upgraded_ok",
                name=report.name,
                version=report.to_version,
                conflicts=len(report.conflicts),
            )
        )
    return _page(report=report, conflicts=[c.as_dict() for c in report.conflicts])
