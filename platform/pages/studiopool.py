"""The studio's lead-pool (公海) pages: every entity's pool at a glance, and one entity's settings:
fields hidden until claimed, the claim limit, the automatic return after N days without follow-up
unless a condition holds, and the roles whose members may claim.

The settings are the entity's ``pool`` key, saved into the draft through the metadata service like
every studio edit and read by the pool and its periodic return once published. Who may claim is the
role's ``claim`` permission, written through AccessAdmin like the access matrix (administrators only).
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from crm_platform.api.common import configure_required, username
from crm_platform.i18n import t
from crm_platform.pages.studio import active_bundle, studio_page
from crm_platform.pages.studioaccess import access_admin
from crm_platform.pages.studioadmin import admin_page
from crm_platform.pages.studioexpr import site_of
from crm_platform.pages.studiopoolform import contact_choices, follow_up_choices, pool_settings
from crm_platform.pages.studiorules import entity_doc
from crm_platform.pages.studiovalidations import problems_by_path, refused
from crm_platform.pages.studiowords import label_of
from crm_platform.pages.triggerform import text
from crm_platform.services import services
from metamodel.access.rules import ANY_ENTITY, CLAIM
from metamodel.definitions import Bundle
from metamodel.errors import CrmError, MetadataInvalid, NotFound
from metamodel.model import SiteModel
from metamodel.pool.sweep import return_stale
from metamodel.systables import user_roles
from metamodel.versions import StaleDraft, fingerprint
from rule_engine.evaluation import shared_expressions

# Nested under the studio blueprint at start-up: endpoints read "studio.pool.<view>".
bp = Blueprint("pool", __name__)
SHOWN = 20


@bp.get("/pool")
@login_required
@configure_required
def overview() -> Any:
    """Every entity's pool: on or off, its return rule and claim limit."""
    rows = []
    for name, doc in sorted(services().metadata.draft().documents.get("entity", {}).items()):
        if doc.get("is_child"):
            continue
        pool = doc.get("pool")
        rows.append({"name": name, "label": label_of(doc, name), "pool": pool})
    return studio_page("studio/pool_overview.html", pools=rows, section="pool")


def _claimers(name: str) -> list[dict[str, Any]]:
    """Every role, whether it may claim this entity's records (here or on every entity), and its members."""
    admin = access_admin()
    with services().engine.connect() as conn:
        counted = conn.execute(select(user_roles.c.role, func.count()).group_by(user_roles.c.role)).all()
    members: dict[str, int] = {str(role): int(n) for role, n in counted}
    rows = []
    for role in admin.roles():
        held = {p["entity"] for p in role["permissions"] if p["operation"] == CLAIM}
        rows.append(
            {
                "name": role["name"],
                "label": label_of(role, role["name"]),
                "here": name in held,
                "everywhere": ANY_ENTITY in held,
                "members": members.get(role["name"], 0),
            }
        )
    return rows


def _page(
    name: str, doc: dict[str, Any], pool: dict[str, Any] | None, status: int = 200, **extra: Any
) -> Any:
    return studio_page(
        "studio/pool.html",
        status,
        doc=doc,
        current=name,
        pool=pool,
        base=fingerprint(services().metadata.draft().documents["entity"][name]),
        contact_choices=contact_choices(doc),
        follow_up_choices=follow_up_choices(doc),
        last_note_field=(doc.get("followups") or {}).get("last_at_field"),
        claimers=_claimers(name),
        enforced=access_admin().enforced(),
        is_admin=bool(getattr(current_user, "is_admin", False)),
        problems=problems_by_path(extra.get("error")),
        section="pool",
        **extra,
    )


@bp.route("/entities/<name>/pool", methods=["GET", "POST"])
@login_required
@configure_required
def settings(name: str) -> Any:
    """One entity's pool settings; test the return rule on live data; save them into the draft."""
    doc = entity_doc(name)
    if request.method == "GET":
        return _page(name, doc, doc.get("pool"))
    pool, problems = pool_settings(request.form, name, doc)
    try:
        if problems:
            raise MetadataInvalid(t("studio.rules.err.invalid"), problems)
        if request.form.get("op") == "test":
            return _page(name, doc, pool, report=preview_return(name, pool))
        if pool is None:
            doc.pop("pool", None)
        else:
            doc["pool"] = pool
        base = text(request.form, "base", 64)
        services().metadata.put_document("entity", name, doc, username(), base=base)
    except CrmError as exc:
        status = 409 if isinstance(exc, StaleDraft) else 422
        return _page(name, doc, pool, status, error=refused(exc), typed=request.form)
    flash(t("studio.pool.saved"))
    return redirect(url_for("studio.pool.settings", name=name))


def preview_return(name: str, pool: dict[str, Any] | None) -> dict[str, Any]:
    """The records the periodic return would send back to the pool now under these settings.

    The pool's own return runs on the published model with the entity's pool replaced by the form's,
    in a transaction that is rolled back: nothing changes, and there is no second implementation.
    """
    svc = services()
    published = active_bundle()
    docs = published.documents.get("entity", {})
    if name not in docs:
        return {"problems": [t("studio.pool.test_unpublished")]}
    if not pool or not pool.get("return_after_days"):
        return {"problems": [t("studio.pool.test_no_days")]}
    body = copy.deepcopy(published.to_json())
    body["entity"][name]["pool"] = pool
    site = site_of(Bundle.from_json(body))
    now = svc.rules.clock()
    keep = None
    try:
        if pool.get("follow_up_field") and pool["follow_up_field"] not in site.entity(name).fields:
            raise NotFound(pool["follow_up_field"])
        if pool.get("return_unless"):
            keep = shared_expressions(svc.rules.functions).to_sql(site, name, pool["return_unless"], now)
    except Exception:  # it reads a field only the draft has: live data cannot answer before publish
        return {"problems": [t("studio.pool.test_draft_fields")]}
    with svc.engine.connect() as conn:
        transaction = conn.begin()
        try:
            returned = return_stale(conn, site.entity(name), now, keep=keep, zone=site.time_zone)
        finally:
            transaction.rollback()
    return {
        "count": len(returned),
        "matches": _titles(name, site, [i for i, _ in returned[:SHOWN]]),
        "days": pool["return_after_days"],
    }


def _titles(name: str, site: SiteModel, ids: list[int]) -> list[dict[str, Any]]:
    """The first records' titles as the admin may read them (her masks apply)."""
    runtime, title = services().runtime(), site.entity(name).entity.title_field
    shown = []
    for record_id in ids:
        try:
            record = runtime.get(name, record_id, current_user.actor())
        except CrmError:  # a record she may not read: its number only
            record = {}
        shown.append(
            {"id": record_id, "title": str((record.get(title) if title else None) or f"#{record_id}")}
        )
    return shown


@bp.post("/entities/<name>/pool/claimers")
@admin_page
def claimers(name: str) -> Any:
    """Let the ticked roles claim this entity's records (the role's claim permission); untick to stop."""
    entity_doc(name)
    wanted = set(request.form.getlist("roles"))
    admin = access_admin()
    changed = 0
    try:
        for role in _claimers(name):
            if role["name"] in wanted and not role["here"] and not role["everywhere"]:
                admin.grant(role["name"], name, CLAIM, "all")
                changed += 1
            elif role["name"] not in wanted and role["here"]:
                admin.revoke(role["name"], name, CLAIM)
                changed += 1
    except CrmError as exc:
        doc = entity_doc(name)
        return _page(name, doc, doc.get("pool"), 422, error=refused(exc))
    flash(t("studio.pool.claimers_saved", n=changed))
    return redirect(url_for("studio.pool.settings", name=name, _anchor="claimers"))


__all__ = ["bp", "preview_return"]
