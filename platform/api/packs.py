"""Industry packs over the API (administrators only): list, validate, install, upgrade, uninstall, export.

A pack is named (a bundled pack, JSON ``{"pack": "retail"}``) or uploaded as a zip (multipart field
``file``, options as form fields); server folders cannot be named, so an API caller reads no files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Response, jsonify, request
from flask_login import current_user

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, Forbidden, actor, json_body
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.auth.passwords import check_password_policy, hash_password
from crm_platform.services import services
from industry_templates.archive import unpack_zip
from industry_templates.export import export_zip
from industry_templates.installer import bundled_folder, bundled_packs, install_pack, validate_pack
from industry_templates.packfiles import read_pack
from industry_templates.uninstall import pack_rows, uninstall_pack
from industry_templates.upgrade import upgrade_pack
from metamodel.errors import NotFound, Problem
from metamodel.identifiers import NAME_PATTERN

F = TypeVar("F", bound=Callable[..., Any])
_TRUE = ("1", "true", "yes", "on")


def _admins_only(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_admin", False):
            raise Forbidden("only administrators may manage industry packs")
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _options() -> dict[str, Any]:
    if request.mimetype == "multipart/form-data":
        return {k: v for k, v in request.form.items()}
    return json_body(optional=True)


def _flag(options: dict[str, Any], name: str) -> bool:
    value = options.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    raise BadRequest(f"'{name}' must be true or false", [Problem(name, "must be a boolean", "type")])


@contextmanager
def _pack_source(options: dict[str, Any]) -> Iterator[Path]:
    """Yield the folder of the uploaded zip (removed afterwards) or of the named bundled pack."""
    upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
    if upload is not None:
        with tempfile.TemporaryDirectory(prefix="crm-pack-") as tmp:
            yield unpack_zip(upload.read(), Path(tmp) / "pack")
        return
    name = options.get("pack")
    if not isinstance(name, str) or not name:
        raise BadRequest(
            "name a bundled pack or upload a zip",
            [Problem("pack", "give 'pack' (a bundled pack's name) or a zip as 'file'", "required")],
        )
    if name not in bundled_packs():
        raise NotFound(f"no bundled pack '{name[:40]}' (bundled: {', '.join(bundled_packs()) or 'none'})")
    yield bundled_folder(name)


@bp.get("/packs")
@_admins_only
def packs_list() -> Response:
    """List installed packs and the bundled ones."""
    rows = pack_rows(services())
    installed = {r["name"]: r for r in rows}
    bundled = []
    for name in bundled_packs():
        found, _ = read_pack(bundled_folder(name))
        manifest = found.manifest if found else {}
        row = installed.get(name)
        bundled.append(
            {
                "name": name,
                "version": manifest.get("version"),
                "label": manifest.get("label"),
                "description": manifest.get("description"),
                "installed_version": row["version"] if row and row["status"] == "installed" else None,
            }
        )
    return jsonify({"installed": rows, "bundled": bundled})


@bp.post("/packs/validate")
@_admins_only
def packs_validate() -> Response:
    """Validate a pack against this site."""
    with _pack_source(_options()) as folder:
        problems = validate_pack(folder, services())
    return jsonify({"valid": not problems, "problems": [p.as_dict() for p in problems]})


@bp.post("/packs/install")
@_admins_only
def packs_install() -> Response:
    """Install a pack (all or nothing)."""
    options = _options()
    password = options.get("demo_password")
    if password is not None:
        if not isinstance(password, str):
            raise BadRequest(
                "'demo_password' must be text", [Problem("demo_password", "must be a string", "type")]
            )
        check_password_policy(password, "")
    with _pack_source(options) as folder:
        report = install_pack(
            services(),
            folder,
            with_sample_data=_flag(options, "with_sample_data"),
            actor=actor(),
            password_hash=hash_password(password) if password else None,
        )
    response = jsonify(report.as_dict())
    response.status_code = 201
    return response


@bp.post("/packs/upgrade")
@_admins_only
def packs_upgrade() -> Response:
    """Upgrade an installed pack (``dry_run``: report only); conflicts keep the site's values."""
    options = _options()
    with _pack_source(options) as folder:
        report = upgrade_pack(services(), folder, dry_run=_flag(options, "dry_run"), actor=actor())
    return jsonify(report.as_dict())


@bp.delete("/packs/<name>")
@_admins_only
def packs_uninstall(name: str) -> Response:
    """Uninstall a pack; ``?purge=true`` also drops its records."""
    purge = request.args.get("purge", "false").lower() in _TRUE
    return jsonify(uninstall_pack(services(), name, purge=purge, actor=actor()).as_dict())


@bp.get("/packs/export")
@_admins_only
def packs_export() -> Response:
    """Download the site's configuration as a pack zip (``?name=&version=``)."""
    name = request.args.get("name", "site")
    version = request.args.get("version", "1.0.0")
    response = Response(export_zip(services(), name=name, version=version), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{version}.zip"'
    return response


_OBJECT: dict[str, Any] = {"type": "object"}
_SOURCE = {
    "type": "object",
    "description": "JSON {pack: <bundled name>, ...options} or multipart/form-data with the zip as 'file'; "
    "install also takes demo_password (the sample users' password)",
    "required": ["pack"],
    "properties": {
        "pack": {"type": "string", "pattern": NAME_PATTERN},
        "with_sample_data": {"type": "boolean"},
        "dry_run": {"type": "boolean"},
    },
}


def _ok(schema: dict[str, Any] | None, status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {status: (description, schema, "application/json")}


ENDPOINTS.update(
    {
        "packs_list": {
            "summary": "List installed and bundled industry packs",
            "errors": ("403",),
            "responses": _ok(_OBJECT),
        },
        "packs_validate": {
            "summary": "Validate a pack against this site",
            "errors": ("403", "404"),
            "request": _SOURCE,
            "responses": _ok(_OBJECT),
        },
        "packs_install": {
            "summary": "Install a pack (with_sample_data, demo_password)",
            "errors": ("403", "404", "409", "422"),
            "request": _SOURCE,
            "responses": _ok(_OBJECT, "201", "installed"),
        },
        "packs_upgrade": {
            "summary": "Upgrade a pack keeping the site's changes (dry_run); conflicts are listed",
            "errors": ("403", "404", "409", "422"),
            "request": _SOURCE,
            "responses": _ok(_OBJECT),
        },
        "packs_uninstall": {
            "summary": "Uninstall a pack (?purge=true drops its records)",
            "errors": ("403", "404", "409"),
            "responses": _ok(_OBJECT),
        },
        "packs_export": {
            "summary": "Download the site's configuration as a pack zip",
            "errors": ("403", "422"),
            "responses": {"200": ("a zip", {"type": "string", "format": "binary"}, "application/zip")},
        },
    }
)
