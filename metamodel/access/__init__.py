"""Access control of records: role permissions per entity and operation, row scopes and shares.

Enforced in one place, the record runtime: ``install_access_control`` adds an actor resolver, a
query scope, permission checks and a delete hook to the runtime's ``RecordHooks``.
"""

from metamodel.access.admin import AccessAdmin
from metamodel.access.enforcement import AccessControl, install_access_control, require
from metamodel.access.errors import AccessDenied
from metamodel.access.grants import Grants, load_grants, resolve_actor
from metamodel.access.rules import OPERATIONS, RECORD_OPERATIONS, SCOPES, SHARE_PERMISSIONS

__all__ = [
    "OPERATIONS",
    "RECORD_OPERATIONS",
    "SCOPES",
    "SHARE_PERMISSIONS",
    "AccessAdmin",
    "AccessControl",
    "AccessDenied",
    "Grants",
    "install_access_control",
    "load_grants",
    "require",
    "resolve_actor",
]
