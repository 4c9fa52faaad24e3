"""Error types shared by the metadata model and the record runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One problem found in input: where it is, what is wrong and a stable code."""

    path: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        """Return the JSON shape used by the API."""
        return {"path": self.path, "message": self.message, "code": self.code}


class CrmError(Exception):
    """Base class of every expected error; carries a stable code and an HTTP status."""

    code = "error"
    status = 400

    def __init__(self, message: str, problems: list[Problem] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON error body."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.problems:
            body["details"] = [p.as_dict() for p in self.problems]
        body.update(self.extra)
        return body


class MetadataInvalid(CrmError):
    """Metadata failed validation; problems name the document paths."""

    code = "metadata_invalid"
    status = 422


class SchemaChangeRefused(CrmError):
    """A publish would lose data (values that cannot be converted, duplicates for a unique field)."""

    code = "schema_change_refused"
    status = 409


class RecordInvalid(CrmError):
    """Record input failed validation; problems name the fields."""

    code = "validation_failed"
    status = 422


class NotFound(CrmError):
    """The entity, record or version does not exist."""

    code = "not_found"
    status = 404


class Conflict(CrmError):
    """The write lost a race (stale lock_version) or violates a reference or uniqueness rule."""

    code = "conflict"
    status = 409


class BadQuery(CrmError):
    """A list query names an unknown field, operator or malformed value."""

    code = "bad_query"
    status = 400


@dataclass
class ProblemList:
    """Collects problems while validating, then raises them together."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str, code: str = "invalid") -> None:
        """Record one problem."""
        self.problems.append(Problem(path, message, code))

    def __bool__(self) -> bool:
        return bool(self.problems)
