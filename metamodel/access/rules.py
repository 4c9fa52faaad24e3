"""The vocabulary of access control: operations, row scopes, share permissions."""

from __future__ import annotations

OPERATIONS = ("read", "create", "update", "delete", "export", "import", "transition", "configure", "claim")
# "claim" is the lead pool's: see and claim records without owner of an entity with a pool, their
# contact fields masked (its scope is not used: pooled records have no owner to scope by).
CLAIM = "claim"
RELEASE = "release"  # not a grantable operation: the owner (with claim) or whoever may update
# Operations on existing records, limited by a row scope; the others are allowed or not.
RECORD_OPERATIONS = frozenset({"read", "update", "delete", "export", "transition"})
OWN, ORG_UNIT, ORG_SUBTREE, ALL = "own", "org_unit", "org_subtree", "all"
SCOPES = (OWN, ORG_UNIT, ORG_SUBTREE, ALL)
SHARE_PERMISSIONS = ("read", "write")
ANY_ENTITY = "*"


def share_permissions_for(operation: str) -> tuple[str, ...]:
    """Return the share permissions that open a record for ``operation`` (none for delete)."""
    if operation in ("read", "export"):
        return SHARE_PERMISSIONS
    if operation in ("update", "transition"):
        return ("write",)
    return ()
