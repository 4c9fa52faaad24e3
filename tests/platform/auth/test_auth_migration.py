"""Migration 0003 on a database with users and tokens from before it: everything keeps working."""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from alembic import command
from werkzeug.security import generate_password_hash

from crm_platform.auth.apitokens import lookup_token
from crm_platform.auth.scopes import ALL_SCOPES
from crm_platform.auth.users import authenticate
from metamodel.database import alembic_config, make_engine, upgrade_database
from rule_engine.assembly import MIGRATIONS

OLD_PASSWORD = "old-scrypt-pw"  # below today's minimum: existing passwords are not re-checked
OLD_TOKEN = "crm_from-before-scopes"


def test_upgrade_keeps_old_users_and_tokens(db_url: str) -> None:
    """A user with a werkzeug hash signs in (and is rehashed); an old token keeps every scope."""
    engine = make_engine(db_url)
    try:
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sys_user (username, password_hash, display_name, locale, is_admin, is_active, created_at)"
                    " VALUES ('old', :h, 'Old', 'en', :t, :t, :now)"
                ),
                {"h": generate_password_hash(OLD_PASSWORD), "t": True, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO sys_api_token (user_id, name, token_hash, created_at) SELECT id, 'cli', :h, :now FROM sys_user"
                ),
                {"h": hashlib.sha256(OLD_TOKEN.encode()).hexdigest(), "now": now},
            )
            conn.execute(sa.text("INSERT INTO sys_role (name, label) VALUES ('sales', '{}')"))
            conn.execute(
                sa.text("INSERT INTO sys_user_role (user_id, role) SELECT id, 'sales' FROM sys_user")
            )
        upgrade_database(engine, MIGRATIONS)
        user = authenticate(engine, "old", OLD_PASSWORD)
        assert user is not None and user.is_admin and not user.must_change_password and not user.totp_enabled
        with engine.connect() as conn:
            assert str(conn.execute(sa.text("SELECT password_hash FROM sys_user")).scalar_one()).startswith(
                "$argon2id$"
            )
        use = lookup_token(engine, OLD_TOKEN)
        assert use is not None and not use.expired and use.scopes == frozenset(ALL_SCOPES)
        with engine.connect() as conn:
            # Adding columns to sys_user must not rebuild it: on SQLite that would cascade to these rows.
            assert conn.execute(sa.text("SELECT count(*) FROM sys_user_role")).scalar_one() == 1

        with engine.begin() as conn:
            everything = alembic_config(MIGRATIONS)
            everything.attributes["connection"] = conn
            command.downgrade(everything, "0003-1")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM sys_api_token")).scalar_one() == 1
            assert "sys_rate_limit" not in sa.inspect(conn).get_table_names()
        upgrade_database(engine, MIGRATIONS)
        assert lookup_token(engine, OLD_TOKEN) is not None
    finally:
        engine.dispose()
