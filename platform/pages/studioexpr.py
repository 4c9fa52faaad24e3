"""The studio's one expression editor, server side: the completion list (an entity's fields, link paths
and the registered functions) and the check of an expression against the draft, with the engine's
message and position. The form designer and the rule builder use the same editor (static/studioexpr.js).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import login_required

from crm_platform.api.common import configure_required
from crm_platform.i18n import t
from crm_platform.pages.studiowords import label_of
from crm_platform.services import services
from metamodel.definitions import Bundle
from metamodel.errors import NotFound
from metamodel.model import EntityModel, SiteModel
from metamodel.versions import fingerprint
from rule_engine.evaluation import shared_expressions
from rule_engine.expressions.types import BOOLEAN, SYSTEM_COLUMN_TYPES, compatible

# Nested under the studio blueprint at start-up: endpoints read "studio.expr.<view>".
bp = Blueprint("expr", __name__)
MAX_TEXT = 2000
_SYSTEM = ("id", "record_no", "owner_id", "created_at", "updated_at", "created_by", "updated_by")


def site_of(bundle: Bundle) -> SiteModel:
    """Compile a (draft) bundle into a site model of its own, for checks and previews only."""
    svc = services()
    # A negative version of its own: compiled expressions are cached per version, never mixed with real ones.
    version = -int(fingerprint(bundle.to_json())[:12], 16)
    site = SiteModel(version, bundle, svc.field_types, svc.metadata.sealing)
    site.time_zone = svc.metadata.model().time_zone  # previews and dry runs count days in the site's zone
    return site


def draft_site() -> SiteModel:
    """The draft as it is saved, compiled."""
    return site_of(services().metadata.draft())


def _model(site: SiteModel, entity: str) -> EntityModel:
    model = site.entities.get(entity[:100])
    if model is None:
        raise NotFound(t("studio.err.no_entity", name=entity[:100]))
    return model


def _fields(model: EntityModel, prefix: str, via: str) -> list[dict[str, Any]]:
    items = []
    for field in model.entity.fields:
        if field.type == "child_table":
            continue
        label = label_of(field.doc, field.name)
        items.append(
            {
                "value": prefix + field.name,
                "kind": "field",
                "detail": f"{via} · {label}" if via else label,
            }
        )
    return items


def completions(site: SiteModel, entity: str) -> list[dict[str, Any]]:
    """Return what the editor completes: fields, one-hop link paths, system columns, functions."""
    model = _model(site, entity)
    items = _fields(model, "", "")
    items += [
        {"value": name, "kind": "field", "detail": name}
        for name in _SYSTEM
        if name in SYSTEM_COLUMN_TYPES and name in model.table.c
    ]
    for field in model.entity.fields:
        target = site.entities.get(str(field.get("target") or "")) if field.type == "link" else None
        if target is not None:
            items += _fields(target, f"{field.name}.", label_of(field.doc, field.name))
    registry = services().rules.functions
    for name in registry.names():
        function = registry.get(name)
        params = ", ".join(function.params) if function is not None else "…"
        items.append({"value": f"{name}(", "kind": "function", "detail": f"{name}({params})"})
    return items


def check_expression(site: SiteModel, entity: str, text: str, want: str) -> dict[str, Any]:
    """Compile ``text`` with the rule engine: ``{ok, message, position}``; a condition must be true/false,
    and an ``sql_condition`` (the pool's exception, judged by the database) must also have an SQL form."""
    expressions = shared_expressions(services().rules.functions)
    try:
        compiled = expressions.compile(site, entity, text)
    except Exception as exc:  # the engine's own message and position, whatever went wrong
        position = getattr(exc, "position", None)
        message = str(getattr(exc, "message", "") or exc)
        return {"ok": False, "message": message, "position": position if isinstance(position, int) else None}
    if want in ("condition", "sql_condition") and not compatible(compiled.result_type, BOOLEAN):
        return {
            "ok": False,
            "message": t("studio.err.not_condition", kind=compiled.result_type),
            "position": None,
        }
    if want == "sql_condition" and expressions.to_sql(site, entity, text, services().rules.clock()) is None:
        return {"ok": False, "message": t("studio.err.no_sql"), "position": None}
    return {"ok": True, "message": "", "position": None}


@bp.get("/entities/<name>/expr/complete")
@login_required
@configure_required
def complete(name: str) -> Any:
    """The completion list of one entity of the draft."""
    return jsonify({"items": completions(draft_site(), name)})


@bp.post("/entities/<name>/expr/check")
@login_required
@configure_required
def check(name: str) -> Any:
    """Check one expression of the draft as the admin types."""
    site = draft_site()
    _model(site, name)
    text = (request.form.get("expression") or "").strip()[:MAX_TEXT]
    if not text:
        return jsonify({"ok": True, "message": "", "position": None})
    asked = request.form.get("want")
    want = asked if asked in ("condition", "sql_condition") else "value"
    return jsonify(check_expression(site, name, text, want))


__all__ = ["bp", "check_expression", "completions", "draft_site", "site_of"]
