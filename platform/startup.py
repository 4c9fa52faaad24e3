"""The one start-up place where field types (and their presentations), expression functions, actions, plugins and the rule engine are registered."""

from __future__ import annotations

from typing import Any

from crm_platform.auditing import install_audit
from crm_platform.auth import authcache
from crm_platform.encryption import load_encryption, prepare_encryption
from crm_platform.services import CrmServices
from form_renderer.presentation import PresentationRegistry, register_builtin_presentations
from metamodel.access import install_access_control
from metamodel.access.fieldsecurity import install_field_security
from metamodel.attachments import AttachmentStore
from metamodel.database import make_engine, upgrade_database
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.pool.hooks import install_pool
from metamodel.records.hooks import RecordHooks
from metamodel.records.runtime import utcnow
from metamodel.versions import MetadataService
from plugins.loader import Registries, load_plugins
from rule_engine.actions.base import ActionRegistry
from rule_engine.actions.builtin import register_builtin_actions
from rule_engine.assembly import MIGRATIONS, build_rule_engine, install_rule_engine
from rule_engine.delivery.settings import SmtpSettings, WebhookSecrets
from rule_engine.delivery.worker import OutboxWorker
from rule_engine.errorlog import LIMIT_SERVICE, limit_from_config
from rule_engine.expressions import FunctionRegistry, register_builtin_functions
from rule_engine.fieldrules.backfills import BackfillJob, PublishBackfill
from rule_engine.fieldrules.clockfields import ClockFieldsJob
from rule_engine.scheduler.jobs import PeriodicJob
from rule_engine.scheduler.pool_return import PoolReturnJob
from rule_engine.scheduler.service import SchedulerService


def build_field_types() -> FieldTypeRegistry:
    """Return the field-type registry with every built-in type."""
    return register_builtin_field_types(FieldTypeRegistry())


def build_presentations() -> PresentationRegistry:
    """Return the registry of how each built-in field type is shown (display, cell, widget, filter)."""
    return register_builtin_presentations(PresentationRegistry())


def build_services(config: dict[str, Any]) -> CrmServices:
    """Create the engine, migrate the system tables and wire the services together."""
    # SQL echo never shows bound parameters: they may be sensitive values (or their search hashes).
    echo = {"echo": True, "hide_parameters": True} if config.get("CRM_SQL_ECHO") else {}
    engine = make_engine(config["CRM_DATABASE_URL"], **echo)
    upgrade_database(engine, MIGRATIONS)
    authcache.install(engine, float(config.get("CRM_AUTH_CACHE_SECONDS", authcache.DEFAULT_SECONDS)))
    encryption = load_encryption(config)
    field_types = build_field_types()
    presentations = build_presentations()
    functions = register_builtin_functions(FunctionRegistry())
    actions = register_builtin_actions(ActionRegistry())
    # Plugins add to the registries before anything reads them; their record hooks run first, so the
    # rules, access control and the audit log see what a plugin's before-save hook changed.
    hooks = RecordHooks()
    plugins = load_plugins(Registries(field_types, functions, actions, hooks, presentations), config)
    rules = build_rule_engine(
        field_types,
        utcnow,
        services={"smtp": SmtpSettings.from_config(config), LIMIT_SERVICE: limit_from_config(config)},
        functions=functions,
        registry=actions,
    )
    install_rule_engine(rules, hooks)
    # Permissions, row scopes and shares: enforced inside the record runtime for every caller.
    install_access_control(hooks)
    # Field rules (hidden, read-only, masked): every record the runtime returns is shaped for its reader.
    install_field_security(hooks)
    # The lead pool: who holds pool records since when, masked contact fields for pool users.
    install_pool(hooks)
    metadata = MetadataService(
        engine, field_types, checks=[rules.check_bundle, encryption.check_bundle], sealing=encryption.sealing
    )
    prepare_encryption(metadata, encryption)
    # New or changed formulas and roll-ups are computed for existing records (small tables inline).
    metadata.on_publish.append(PublishBackfill(metadata, rules.functions))
    # The audit log: record changes, transitions, publishes and rollbacks, each in its change's transaction.
    install_audit(hooks, rules, metadata)
    attachments = AttachmentStore(engine, config["CRM_ATTACHMENT_DIR"])
    return CrmServices(
        engine=engine,
        field_types=field_types,
        presentations=presentations,
        metadata=metadata,
        attachments=attachments,
        rules=rules,
        hooks=hooks,
        plugins=plugins,
    )


def build_scheduler(svc: CrmServices, config: dict[str, Any]) -> SchedulerService:
    """Return the scheduler of time triggers, retries and outbox deliveries for these services."""
    outbox = OutboxWorker(
        svc.engine, smtp=SmtpSettings.from_config(config), secrets=WebhookSecrets.from_config(config)
    )
    interval = float(config.get("CRM_SCHEDULER_INTERVAL") or 30)
    # Periodic jobs, each run once per period across every scheduler process.
    jobs: list[PeriodicJob] = [
        PoolReturnJob(svc.metadata.model, functions=svc.rules.functions),
        BackfillJob(svc.metadata.model, svc.rules.functions),
        ClockFieldsJob(svc.metadata.model, svc.engine, svc.hooks, svc.rules.functions),
    ]
    return SchedulerService(
        svc.engine, svc.metadata, svc.rules, svc.hooks, interval=interval, outbox=outbox, jobs=jobs
    )
