"""Sending a stored file to a reader who may read it, as a download that the browser never renders."""

from __future__ import annotations

from flask import Response, send_file

from crm_platform.services import services
from metamodel.errors import NotFound
from metamodel.records.attachmentreads import may_read_attachment
from metamodel.records.hooks import Actor


def send_attachment(attachment_id: int, actor: Actor) -> Response:
    """Return the file as a download; NotFound when it is missing or the reader may not read it."""
    svc = services()
    stored, path = svc.attachments.get(attachment_id)
    # Refused like a missing file: the answer tells nothing about files the reader may not see.
    if not may_read_attachment(svc.runtime(), stored.id, actor) or not path.is_file():
        raise NotFound(f"attachment {attachment_id} does not exist")
    response: Response = send_file(
        path, mimetype=stored.content_type, as_attachment=True, download_name=stored.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
