"""The studio's access pages: the role × entity × operation matrix with a row scope per cell, and each
role's field security (hidden, read-only, masked with its mask pattern).

Writes go through AccessAdmin, the service behind /api/v1/access, so the studio, the API and the CLI
cannot disagree. Administrators only, like the API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from crm_platform.i18n import t
from crm_platform.pages.studioadmin import admin_page, entity_choices, error_view, label_of, render
from crm_platform.services import services
from metamodel.access import AccessAdmin
from metamodel.access.fields import ACCESS_LEVELS
from metamodel.access.masks import STYLES
from metamodel.access.rules import ANY_ENTITY, OPERATIONS, RECORD_OPERATIONS, SCOPES
from metamodel.errors import CrmError, NotFound

# Nested under the studio blueprint at start-up: endpoints read "studio.access.<view>".
bp = Blueprint("access", __name__)
_NOT_RULED = frozenset(
    {"id", "lock_version", "owner_id", "created_at", "created_by", "updated_at", "updated_by"}
)
# What each mask style shows for a sample value (the admin picks a pattern by how it looks).
_SAMPLES = {
    "phone": "+86 13812341234",
    "email": "mei.lin@example.com",
    "id_number": "110101199003071234",
    "name": "林美",
    "default": "secret",
}


def access_admin() -> AccessAdmin:
    """Return the access-control service over the app's database."""
    svc = services()
    return AccessAdmin(svc.engine, svc.clock)


def _role_rows(admin: AccessAdmin) -> list[dict[str, Any]]:
    return [
        {"name": r["name"], "label": label_of(r, r["name"]), "count": len(r["permissions"])}
        for r in admin.roles()
    ]


def _chosen_role(roles: list[dict[str, Any]]) -> str | None:
    wanted = (request.values.get("role") or "")[:80]
    names = [r["name"] for r in roles]
    if wanted and wanted not in names:
        raise NotFound(t("access.err.no_role", name=wanted))
    return wanted or (names[0] if names else None)


def _matrix(role: str | None, admin: AccessAdmin) -> dict[str, Any]:
    held = {(p["entity"], p["operation"]): p["scope"] for p in admin.permissions(role)} if role else {}
    rows = [(ANY_ENTITY, t("access.any_entity")), *entity_choices()]
    return {
        "rows": [
            {"entity": name, "label": label, "cells": {op: held.get((name, op), "") for op in OPERATIONS}}
            for name, label in rows
        ],
        "operations": [(op, t(f"access.op.{op}"), op in RECORD_OPERATIONS) for op in OPERATIONS],
        "scopes": [(s, t(f"access.scope.{s}")) for s in SCOPES],
    }


def _matrix_page(status: int = 200, **extra: Any) -> Any:
    admin = access_admin()
    roles = _role_rows(admin)
    role = extra.pop("role", None) or _chosen_role(roles)
    return render(
        "studio/access_matrix.html",
        status,
        roles=roles,
        role=role,
        enforced=admin.enforced(),
        section="access",
        **_matrix(role, admin),
        **extra,
    )


@bp.get("/access")
@admin_page
def matrix() -> Any:
    """The roles, and the selected role's entity × operation matrix."""
    return _matrix_page()


@bp.post("/access/roles")
@admin_page
def create_role() -> Any:
    """Create a role (labelled in both languages)."""
    name = (request.form.get("name") or "").strip()[:80]
    label = {
        k: v for k, v in (("en", request.form.get("label_en")), ("zh-CN", request.form.get("label_zh"))) if v
    }
    try:
        access_admin().create_role(name, {k: v.strip()[:200] for k, v in label.items()})
    except CrmError as exc:
        return _matrix_page(422 if exc.status < 500 else exc.status, error=error_view(exc), form=request.form)
    flash(t("access.role_created", name=name))
    return redirect(url_for("studio.access.matrix", role=name))


def permissions_of(form: MultiDict[str, str]) -> list[dict[str, str]]:
    """Return the permissions a matrix form asks for: one per cell given a scope (p.<entity>.<operation>)."""
    wanted = []
    for key, scope in form.items():
        if not key.startswith("p.") or not scope:
            continue
        entity, _, operation = key[2:].rpartition(".")
        wanted.append({"entity": entity, "operation": operation, "scope": scope})
    return wanted


@bp.post("/access/roles/<role>/permissions")
@admin_page
def save_permissions(role: str) -> Any:
    """Replace the role's permissions with the matrix as submitted (switches enforcement on)."""
    try:
        access_admin().set_permissions(role[:80], permissions_of(request.form))
    except CrmError as exc:
        return _matrix_page(exc.status, role=role[:80], error=error_view(exc))
    flash(t("access.saved", name=role[:80]))
    return redirect(url_for("studio.access.matrix", role=role[:80]))


# --- field security ---------------------------------------------------------------------------------
def _field_rows(role: str, entity: str, admin: AccessAdmin) -> list[dict[str, Any]]:
    model = services().metadata.model().entities.get(entity)
    if model is None:
        raise NotFound(t("access.err.no_entity", name=entity[:80]))
    rules = {r["field"]: r for r in admin.field_rules(role) if r["entity"] == entity}
    rows = []
    for name, definition in model.fields.items():
        if name in _NOT_RULED or definition.type == "child_table":
            continue
        rule = rules.get(name) or {}
        rows.append(
            {
                "name": name,
                "label": label_of(definition, name),
                "access": rule.get("access") or "",
                "mask": rule.get("mask") or "",
                "default_mask": STYLES.style_for(definition),
                "reveal": bool(rule.get("reveal")),
            }
        )
    return rows


def _fields_page(status: int = 200, **extra: Any) -> Any:
    admin = access_admin()
    roles = _role_rows(admin)
    role = extra.pop("role", None) or _chosen_role(roles)
    entities = entity_choices()
    entity = (request.values.get("entity") or "")[:80] or (entities[0][0] if entities else "")
    rows = _field_rows(role, entity, admin) if role and entity else []
    masks = [(m, t(f"access.mask.{m}"), STYLES.show(m, _SAMPLES.get(m, "secret"))) for m in STYLES.names()]
    return render(
        "studio/access_fields.html",
        status,
        roles=roles,
        role=role,
        entities=entities,
        entity=entity,
        rows=rows,
        levels=[(a, t(f"access.level.{a}")) for a in ACCESS_LEVELS],
        masks=masks,
        section="fields",
        **extra,
    )


@bp.get("/access/fields")
@admin_page
def fields() -> Any:
    """One role's field security on one entity."""
    return _fields_page()


def field_rules_of(form: MultiDict[str, str], entity: str) -> list[dict[str, Any]]:
    """Return the field rules a field-security form asks for: f.<field> access, m.<field> mask, r.<field>."""
    rules = []
    for key, access in form.items():
        if not key.startswith("f.") or not access:
            continue
        name = key[2:]
        rules.append(
            {
                "entity": entity,
                "field": name,
                "access": access,
                "mask": (form.get(f"m.{name}") or None) if access == "masked" else None,
                "reveal": form.get(f"r.{name}") == "on",
            }
        )
    return rules


@bp.post("/access/roles/<role>/fields")
@admin_page
def save_fields(role: str) -> Any:
    """Replace the role's field rules on one entity (its rules on other entities stay)."""
    admin, role = access_admin(), role[:80]
    entity = (request.form.get("entity") or "")[:80]
    try:
        others = [r for r in admin.field_rules(role) if r["entity"] != entity]
        admin.set_field_rules(
            role, [*others, *field_rules_of(request.form, entity)], services().metadata.model()
        )
    except CrmError as exc:
        return _fields_page(exc.status, role=role, error=error_view(exc))
    flash(t("access.fields_saved", name=role))
    return redirect(url_for("studio.access.fields", role=role, entity=entity))
