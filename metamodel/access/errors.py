"""The error raised when an operation is refused."""

from __future__ import annotations

from metamodel.errors import CrmError


class AccessDenied(CrmError):
    """The actor's roles do not allow the operation on the entity (or on this record); names both."""

    code = "permission_denied"
    status = 403

    def __init__(self, entity: str, operation: str, message: str | None = None) -> None:
        super().__init__(
            message or f"you may not {operation} {entity} records",
            entity=entity,
            operation=operation,
        )
        self.entity = entity
        self.operation = operation
