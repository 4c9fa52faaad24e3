"""The studio's org tree (HQ → region → store): add units, relabel them, move them with everything below
(drag and drop, or the parent picker for keyboards and phones), and delete units nobody uses.

Every write goes through AccessAdmin, the service behind /api/v1/access/org-units. Administrators only.
A unit's technical name stays as created: records that name their unit keep pointing at it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for

from crm_platform.i18n import t
from crm_platform.pages.studioaccess import access_admin
from crm_platform.pages.studioadmin import admin_page, error_view, label_of, render
from crm_platform.services import services
from metamodel.access.unitcounts import member_counts
from metamodel.errors import CrmError, NotFound, Problem, RecordInvalid

bp = Blueprint("units", __name__)


def _unit_id(raw: str | None, path: str = "") -> int | None:
    """Parse a unit id from a URL or a form; a bad one is refused in words (a form field) or as not found."""
    if raw is None or raw == "":
        return None
    if raw.isdigit() and len(raw) < 16:
        return int(raw)
    if path:
        raise RecordInvalid(t("units.err.bad_parent"), [Problem(path, t("units.err.bad_parent"), "choose")])
    raise NotFound(t("units.err.no_unit"))


def _required_id(raw: str) -> int:
    found = _unit_id(raw)
    if found is None:
        raise NotFound(t("units.err.no_unit"))
    return found


def _labels() -> dict[str, str]:
    form = request.form
    found = {"en": form.get("label_en") or "", "zh-CN": form.get("label_zh") or ""}
    return {k: v.strip()[:200] for k, v in found.items() if v.strip()}


def _tree() -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Return the root nodes (children nested, by label) and every node by id."""
    counts = member_counts(services().engine)
    nodes = {
        int(u["id"]): {
            "id": int(u["id"]),
            "name": u["name"],
            "label": label_of(u, u["name"]),
            "label_en": (u["label"] or {}).get("en", ""),
            "label_zh": (u["label"] or {}).get("zh-CN", ""),
            "parent_id": u["parent_id"],
            "members": counts.get(int(u["id"]), 0),
            "children": [],
        }
        for u in access_admin().units()
    }
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        parent = nodes.get(node["parent_id"]) if node["parent_id"] is not None else None
        (parent["children"] if parent else roots).append(node)
    for node in nodes.values():
        node["children"].sort(key=lambda n: n["label"].lower())
    roots.sort(key=lambda n: n["label"].lower())
    return roots, nodes


def _below(node: dict[str, Any]) -> set[int]:
    """Return the ids of the node and every unit under it (none of them can become its parent)."""
    found = {node["id"]}
    for child in node["children"]:
        found |= _below(child)
    return found


def _choices(roots: list[dict[str, Any]], skip: set[int]) -> list[tuple[int, str]]:
    """Return (id, "HQ / East region") for every unit in tree order, leaving out ``skip``."""
    rows: list[tuple[int, str]] = []

    def walk(nodes: list[dict[str, Any]], trail: list[str]) -> None:
        for node in nodes:
            if node["id"] in skip:
                continue
            path = [*trail, node["label"]]
            rows.append((node["id"], " / ".join(path)))
            walk(node["children"], path)

    walk(roots, [])
    return rows


def _page(status: int = 200, **extra: Any) -> Any:
    roots, nodes = _tree()
    selected = extra.pop("selected", None)
    if selected is None:
        selected = _unit_id(request.args.get("unit"))
    if selected is not None and selected not in nodes:
        raise NotFound(t("units.err.no_unit"))
    chosen = nodes.get(selected) if selected is not None else None
    parent = _unit_id(request.args.get("parent"))
    return render(
        "studio/access_units.html",
        status,
        roots=roots,
        total=len(nodes),
        chosen=chosen,
        parents=_choices(roots, _below(chosen) if chosen else set()),
        all_units=_choices(roots, set()),
        new_parent=parent if parent in nodes else (chosen["id"] if chosen else None),
        section="units",
        **extra,
    )


@bp.get("/access/org-units")
@admin_page
def units() -> Any:
    """The org tree, the selected unit's editor and the new-unit form."""
    return _page()


@bp.post("/access/org-units")
@admin_page
def create_unit() -> Any:
    """Add a unit (labelled in both languages) under a parent, or at the top."""
    name = (request.form.get("name") or "").strip()[:80]
    try:
        parent = _unit_id(request.form.get("parent_id"), "parent_id")
        made = access_admin().create_unit(name, parent, _labels())
    except CrmError as exc:
        return _page(exc.status, error=error_view(exc), form=request.form)
    flash(t("units.created", name=label_of(made, made["name"])))
    return redirect(url_for("studio.units.units", unit=made["id"]))


@bp.post("/access/org-units/<raw_id>")
@admin_page
def update_unit(raw_id: str) -> Any:
    """Save a unit's labels and its parent (moving it takes everything below it along)."""
    unit_id = _required_id(raw_id)
    try:
        parent = _unit_id(request.form.get("parent_id"), "parent_id")
        found = access_admin().update_unit(unit_id, label=_labels(), parent_id=parent)
    except NotFound:
        raise
    except CrmError as exc:
        return _page(exc.status, selected=unit_id, error=error_view(exc))
    flash(t("units.saved", name=label_of(found, found["name"])))
    return redirect(url_for("studio.units.units", unit=unit_id))


@bp.post("/access/org-units/<raw_id>/move")
@admin_page
def move_unit(raw_id: str) -> Any:
    """Move a unit under another (a drop in the tree); an empty parent puts it at the top."""
    unit_id = _required_id(raw_id)
    try:
        parent = _unit_id(request.form.get("parent_id"), "parent_id")
        found = access_admin().update_unit(unit_id, parent_id=parent)
    except NotFound:
        raise
    except CrmError as exc:
        return _page(exc.status, error=error_view(exc))
    flash(t("units.moved", name=label_of(found, found["name"])))
    return redirect(url_for("studio.units.units", unit=unit_id))


@bp.post("/access/org-units/<raw_id>/delete")
@admin_page
def delete_unit(raw_id: str) -> Any:
    """Delete a unit without sub-units or people; otherwise say what still uses it."""
    unit_id, admin = _required_id(raw_id), access_admin()
    found = admin.unit(unit_id)
    name = label_of(found, found["name"])
    try:
        admin.delete_unit(unit_id)
    except CrmError as exc:
        blocking = exc.extra.get("blocking") or {}
        message = t(
            "units.err.in_use", name=name, units=blocking.get("units", 0), members=blocking.get("members", 0)
        )
        return _page(exc.status, selected=unit_id, error={"message": message, "problems": []})
    flash(t("units.deleted", name=name))
    return redirect(url_for("studio.units.units"))
