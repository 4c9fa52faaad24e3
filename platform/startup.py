"""The one start-up place where field types (and later rules and plugins) are registered."""
from __future__ import annotations

from typing import Any

from crm_platform.services import CrmServices
from metamodel.attachments import AttachmentStore
from metamodel.database import make_engine, upgrade_database
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.versions import MetadataService


def build_field_types() -> FieldTypeRegistry:
    """Return the field-type registry with every built-in type."""
    return register_builtin_field_types(FieldTypeRegistry())


def build_services(config: dict[str, Any]) -> CrmServices:
    """Create the engine, migrate the system tables and wire the services together."""
    engine = make_engine(config["CRM_DATABASE_URL"])
    upgrade_database(engine)
    field_types = build_field_types()
    metadata = MetadataService(engine, field_types)
    attachments = AttachmentStore(engine, config["CRM_ATTACHMENT_DIR"])
    return CrmServices(engine=engine, field_types=field_types, metadata=metadata, attachments=attachments)
