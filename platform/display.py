"""What field presentations need to turn a value into text for this request (pages and API exports alike)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from crm_platform.i18n import current_locale, t
from crm_platform.timezones import user_zone
from form_renderer.presentation import DisplayContext


def display_context() -> DisplayContext:
    """Return what presentations need for this request: its locale, the reader's time zone, record and file
    URLs, the catalog."""

    def record_url(entity: str, record_id: Any) -> str:
        return url_for("pages.record_detail", entity=entity, record_id=record_id)

    def file_url(attachment_id: Any) -> str:
        return url_for("pages.attachment_file", attachment_id=attachment_id)

    return DisplayContext(current_locale(), record_url, file_url, t, user_zone())
