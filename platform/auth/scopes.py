"""API token scopes, and which scope an API request needs."""

from __future__ import annotations

from collections.abc import Iterable

from metamodel.errors import Problem, RecordInvalid

RECORDS_READ = "records:read"
RECORDS_WRITE = "records:write"
META_READ = "meta:read"
META_WRITE = "meta:write"
ADMIN = "admin"
ALL_SCOPES = (RECORDS_READ, RECORDS_WRITE, META_READ, META_WRITE, ADMIN)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def normalize_scopes(requested: Iterable[str]) -> tuple[str, ...]:
    """Return the scopes in canonical order; RecordInvalid names any unknown one."""
    wanted = set(requested)
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown:
        problems = [
            Problem("scopes", f"unknown scope '{name[:40]}'; use {', '.join(ALL_SCOPES)}", "enum")
            for name in unknown
        ]
        raise RecordInvalid("unknown token scope", problems)
    if not wanted:
        raise RecordInvalid(
            "a token needs at least one scope", [Problem("scopes", "choose at least one scope", "min_items")]
        )
    return tuple(s for s in ALL_SCOPES if s in wanted)


def parse_stored(value: str | None) -> frozenset[str]:
    """Return the scopes stored with a token; tokens from before scopes existed have all of them."""
    return frozenset(ALL_SCOPES) if value is None else frozenset(value.split())


def required_scope(method: str, path: str) -> str | None:
    """Return the scope an API request needs (``path`` below /api/v1), or None when any token will do."""
    read = method.upper() in READ_METHODS
    if path.startswith("/meta/"):
        return META_READ if read else META_WRITE
    if path.startswith(("/records/", "/attachments/")):
        return RECORDS_READ if read else RECORDS_WRITE
    if path == "/tokens" or path.startswith("/tokens/"):
        return None  # a token manages its owner's tokens; a new one never gets more scopes than it has
    # Anything else (user administration, endpoints added later) needs the broadest scope: fail closed.
    return ADMIN
