"""End-user pages generated from metadata."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

# List, board, calendar, pool, record page, workflow and follow-up routes join the pages blueprint,
# trigger routes the studio's rules blueprint.
from crm_platform.pages import (  # noqa: F401
    board,
    calendar,
    followups,
    helpers,
    importpage,
    listbulk,
    listexport,
    listpage,
    pool,
    recent,
    recordpage,
    shell,
    studiotriggers,
    viewtabs,
    workflowpanel,
)
from crm_platform.pages.approvalpage import bp as approvals_bp
from crm_platform.pages.dashboardedit import bp as dashboard_edit_bp
from crm_platform.pages.dashboards import bp as dashboards_bp
from crm_platform.pages.inbox import bp as inbox_bp
from crm_platform.pages.packs import bp as packs_bp
from crm_platform.pages.packs import legacy_bp as packs_legacy_bp
from crm_platform.pages.reportbuilder import bp as report_builder_bp
from crm_platform.pages.reports import bp as reports_bp
from crm_platform.pages.searchpage import bp as search_bp
from crm_platform.pages.studio import bp as studio_bp
from crm_platform.pages.studioaccess import bp as studio_access_bp
from crm_platform.pages.studioexpr import bp as studio_expr_bp
from crm_platform.pages.studiofield import bp as studio_field_bp
from crm_platform.pages.studioform import bp as studio_form_bp
from crm_platform.pages.studioops import bp as studio_ops_bp
from crm_platform.pages.studiopool import bp as studio_pool_bp
from crm_platform.pages.studiorules import bp as studio_rules_bp
from crm_platform.pages.studiounits import bp as studio_units_bp
from crm_platform.pages.studiousers import bp as studio_users_bp
from crm_platform.pages.studioversions import bp as studio_versions_bp
from crm_platform.pages.studioworkflow import bp as studio_workflow_bp
from crm_platform.pages.views import bp
from crm_platform.pages.zonepages import account_bp
from crm_platform.pages.zonepages import bp as zone_settings_bp
from crm_platform.services import CrmServices


def init_app(app: Flask) -> None:
    """Register the pages and make the form widget templates loadable."""
    import form_renderer

    folder = Path(form_renderer.__file__).parent / "templates"
    # Plugin presentations bring their own widget templates (widgets/<name>.html) in their folders.
    crm: CrmServices | None = app.extensions.get("crm")
    extra = [str(f) for f in crm.presentations.template_folders()] if crm else []
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader([str(folder), *extra])])  # type: ignore[list-item]
    helpers.init_app(app)
    shell.init_app(app)
    recent.init_app(app)
    viewtabs.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(packs_legacy_bp)
    app.register_blueprint(studio_bp)
    # Its endpoints read "studio.versions.<view>" (the shell marks every "studio." page as the studio's).
    app.register_blueprint(studio_versions_bp, url_prefix="/studio", name_prefix="studio")
    app.register_blueprint(studio_form_bp, url_prefix="/studio", name_prefix="studio")
    app.register_blueprint(studio_expr_bp, url_prefix="/studio", name_prefix="studio")
    app.register_blueprint(studio_rules_bp, url_prefix="/studio", name_prefix="studio")
    app.register_blueprint(studio_field_bp, url_prefix="/studio", name_prefix="studio")
    app.register_blueprint(studio_pool_bp, url_prefix="/studio", name_prefix="studio")
    app.register_blueprint(studio_workflow_bp, url_prefix="/studio", name_prefix="studio")
    for admin_bp in (
        studio_access_bp,
        studio_units_bp,
        studio_users_bp,
        packs_bp,
        studio_ops_bp,
        zone_settings_bp,
    ):
        app.register_blueprint(admin_bp, url_prefix="/studio", name_prefix="studio")
    app.register_blueprint(report_builder_bp)  # before the report pages: /reports/new is not a report
    app.register_blueprint(reports_bp)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(approvals_bp)
    app.register_blueprint(dashboard_edit_bp)
    app.register_blueprint(account_bp)


__all__ = ["bp", "init_app"]
