"""Attachment upload (checked against the field's size and type rules) and download."""

from __future__ import annotations

import mimetypes
from typing import Any

from flask import request, url_for
from flask_login import current_user

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, PayloadTooLarge, actor, created, path_id
from crm_platform.api.records import entity_model
from crm_platform.attachmentfiles import send_attachment
from crm_platform.services import services
from metamodel.access import AccessDenied, require
from metamodel.attachments import TooLarge
from metamodel.errors import Problem, RecordInvalid
from metamodel.fieldtypes.misc import AttachmentType


@bp.post("/records/<entity>/attachments")
def attachments_upload(entity: str) -> Any:
    """Store an uploaded file for an attachment field (?field=name) and return its id."""
    svc = services()
    model = entity_model(svc.runtime(), entity)
    name = request.args.get("field", "")
    definition = model.fields.get(name)
    field_type = model.types.get(name)
    if definition is None or not isinstance(field_type, AttachmentType):
        raise RecordInvalid(
            f"'{name[:80]}' is not an attachment field of {entity}",
            [Problem("field", "not an attachment field", "field")],
        )
    _may_write(svc, entity)
    if not request.mimetype.startswith("multipart/form-data"):
        raise BadRequest("upload the file as multipart/form-data in the part 'file'")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("no file was sent in the part 'file'", [Problem("file", "is required", "required")])
    filename = upload.filename
    content_type = upload.mimetype or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if not field_type.accepts(definition, filename, content_type):
        allowed = ", ".join(definition.get("accept") or [])
        raise RecordInvalid(
            f"{name} does not accept this kind of file", [Problem(name, f"accepted: {allowed}", "file_type")]
        )
    max_size = field_type.max_size(definition)
    try:
        stored = svc.attachments.save(upload.stream, filename, content_type, max_size, svc_user_id())
    except TooLarge:
        raise PayloadTooLarge(
            f"the file is larger than {max_size} bytes",
            [Problem(name, f"must be at most {max_size} bytes", "max_size")],
        ) from None
    return created(stored.as_dict(), url_for("api.attachments_download", attachment_id=str(stored.id)))


def _may_write(svc: Any, entity: str) -> None:
    # Files are stored only for those who may put them into a record: create or update on the entity.
    runtime = svc.runtime()
    with runtime.transaction() as conn:
        resolved = runtime.resolve(actor(), conn)
        try:
            require(conn, resolved, entity, "create")
        except AccessDenied:
            require(conn, resolved, entity, "update")


def svc_user_id() -> int | None:
    """Return the signed-in user's id."""
    return int(current_user.id) if current_user.is_authenticated else None


@bp.get("/attachments/<attachment_id>")
def attachments_download(attachment_id: str) -> Any:
    """Download an attachment the caller may read (through a record she may read, or her own upload)."""
    return send_attachment(path_id(attachment_id), actor())
