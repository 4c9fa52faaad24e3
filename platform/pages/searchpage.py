"""The global search page (``/search``): matches in every entity the user may read, and her recent records."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import login_required

from crm_platform.pages.finder import MAX_TEXT, search_everywhere
from crm_platform.pages.recent import recent_records

bp = Blueprint("search_pages", __name__)


@bp.route("/search")
@login_required
def search() -> Any:
    """Search every readable entity for ``q``; without one, show the recent records."""
    text = request.args.get("q", "").strip()[:MAX_TEXT]
    groups = search_everywhere(text) if text else []
    recent = [] if text else recent_records()
    return render_template("nav/search.html", text=text, groups=groups, recent=recent)
