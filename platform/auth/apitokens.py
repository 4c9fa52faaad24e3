"""API tokens: created with scopes and an optional expiry, stored only as a hash, listed and revoked."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from crm_platform.auth import clock
from crm_platform.auth.model import User, user_from_row
from crm_platform.auth.scopes import ALL_SCOPES, normalize_scopes, parse_stored
from metamodel.systables import api_tokens, users

TOKEN_PREFIX = "crm_"
# last_used_at is written at most this often per token, so busy integrations do not write on every call.
LAST_USED_GRANULARITY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class TokenUse:
    """A presented token that exists: its user, id, scopes and whether it has expired."""

    user: User
    token_id: int
    scopes: frozenset[str]
    expired: bool
    expires_at: dt.datetime | None = None  # so a cached use can tell when it expires


def token_hash(token: str) -> str:
    """Return the stored form of a token (SHA-256: tokens are long and random, so no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    engine: Engine, user_id: int, name: str, days: int | None = None, scopes: Iterable[str] | None = None
) -> str:
    """Create an API token and return it; only its hash is stored, so it is shown once."""
    chosen = normalize_scopes(ALL_SCOPES if scopes is None else scopes)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires = now + dt.timedelta(days=days) if days else None
    with engine.begin() as conn:
        conn.execute(
            api_tokens.insert().values(
                user_id=user_id,
                name=name[:100],
                token_hash=token_hash(token),
                created_at=now,
                expires_at=expires,
                scopes=" ".join(chosen),
            )
        )
    return token


def lookup_token(engine: Engine, token: str) -> TokenUse | None:
    """Return the use of an existing token of an active user (expired ones too, flagged); records its use."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(
                users,
                api_tokens.c.id.label("token_id"),
                api_tokens.c.expires_at,
                api_tokens.c.scopes,
                api_tokens.c.last_used_at,
            )
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == token_hash(token))
        ).first()
    if row is None or not row.is_active:
        return None
    now = clock.now()
    expired = row.expires_at is not None and row.expires_at <= now
    if not expired and (row.last_used_at is None or row.last_used_at < now - LAST_USED_GRANULARITY):
        with engine.begin() as conn:
            touch = api_tokens.update().where(api_tokens.c.id == row.token_id).values(last_used_at=now)
            # A last-use time changes nobody's access: cached lookups stay valid.
            conn.execute(touch.execution_options(crm_auth_cache_keep=True))
    return TokenUse(user_from_row(row), int(row.token_id), parse_stored(row.scopes), expired, row.expires_at)


def user_for_token(engine: Engine, token: str) -> User | None:
    """Return the user of a valid, unexpired token."""
    use = lookup_token(engine, token)
    return use.user if use is not None and not use.expired else None


def list_tokens(engine: Engine, user_id: int | None) -> list[dict[str, Any]]:
    """Return the tokens of ``user_id`` (all users' when None), newest first, without any secret."""
    query = (
        select(api_tokens, users.c.username)
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.id.desc())
    )
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    now = clock.now()
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "id": row.id,
            "name": row.name,
            "user_id": row.user_id,
            "username": row.username,
            "scopes": sorted(parse_stored(row.scopes), key=ALL_SCOPES.index),
            "created_at": _iso(row.created_at),
            "expires_at": _iso(row.expires_at),
            "last_used_at": _iso(row.last_used_at),
            "expired": row.expires_at is not None and row.expires_at <= now,
        }
        for row in rows
    ]


def revoke_token(engine: Engine, token_id: int, user_id: int | None) -> bool:
    """Delete a token (of ``user_id`` only, unless None); whether one was deleted."""
    condition = api_tokens.c.id == token_id
    with engine.begin() as conn:
        query = api_tokens.delete().where(condition)
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        return bool(conn.execute(query).rowcount)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
