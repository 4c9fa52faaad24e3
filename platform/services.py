"""The services one app instance holds: database engine, registries, metadata and the record runtime."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, has_request_context
from sqlalchemy import Engine

from crm_platform.contextobjects import real_app, request_globals
from form_renderer.presentation import PresentationRegistry, register_builtin_presentations
from metamodel.attachments import AttachmentStore
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.model import SiteModel
from metamodel.records.hooks import RecordHooks
from metamodel.records.runtime import RecordRuntime, utcnow
from metamodel.versions import MetadataService
from plugins.loader import PluginSet
from rule_engine.engine import RuleEngine

# Set on a request that runs again after a metadata change: it reads the active version afresh.
FRESH_MODEL = "crm_fresh_model"
_SITE_MODEL = "crm_site_model"


@dataclass
class CrmServices:
    """Everything request handlers, commands and tests need, created once by the app factory."""

    engine: Engine
    field_types: FieldTypeRegistry
    metadata: MetadataService
    attachments: AttachmentStore
    rules: RuleEngine
    hooks: RecordHooks = field(default_factory=RecordHooks)
    clock: Callable[[], dt.datetime] = utcnow
    plugins: PluginSet = field(default_factory=PluginSet)  # loaded plugins: statuses and blueprints
    # How each field type is shown (built-ins and plugins'), filled in crm_platform.startup.
    presentations: PresentationRegistry = field(
        default_factory=lambda: register_builtin_presentations(PresentationRegistry())
    )

    _held: RecordRuntime | None = field(default=None, init=False, repr=False)

    def runtime(self) -> RecordRuntime:
        """Return a record runtime bound to the active metadata version.

        In a request the worker's last compiled version is used and each of the runtime's transactions
        checks it against the version that transaction sees; on a change the request runs again
        (crm_platform.consistency).
        """
        if not has_request_context() or getattr(request_globals(), FRESH_MODEL, None):
            return RecordRuntime(self.metadata.model(), self.engine, self.hooks, self.clock)
        model = self.metadata.latest()
        held = self._held
        if held is not None and held.model is model:
            return held  # one per version and worker: its prepared statements are built once
        runtime = RecordRuntime(model, self.engine, self.hooks, self.clock, self.metadata.guard(model))
        self._held = runtime
        return runtime

    def init_app(self, app: Flask) -> None:
        """Attach to ``app`` so handlers reach it through ``services()``."""
        app.extensions["crm"] = self


def services() -> CrmServices:
    """Return the services of the current app."""
    found: CrmServices = real_app().extensions["crm"]
    return found


def site_model() -> SiteModel:
    """Return the active metadata with the site's time zone, read once per request (each call outside one).

    A page asks for it from many places (the entity, the reader's zone, the sidebar, the bulk bar's
    transitions); one read per request keeps them on one version. A request run again after a metadata
    change (``FRESH_MODEL``) reads it afresh.
    """
    if not has_request_context():
        return services().metadata.model()
    globals_ = request_globals()
    fresh = bool(globals_.get(FRESH_MODEL))
    held = globals_.get(_SITE_MODEL)
    if held is not None and held[0] == fresh:
        return held[1]  # type: ignore[no-any-return]
    model = services().metadata.model()
    setattr(globals_, _SITE_MODEL, (fresh, model))
    return model
