"""Migration 0005 goes down and up again cleanly, and the append-only triggers come back with it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import DBAPIError

from metamodel.database import alembic_config, make_engine, upgrade_database


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade_database(engine)
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0005-1")
        assert "sys_audit" not in sa.inspect(engine).get_table_names()
        upgrade_database(engine)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sys_audit (at, action, summary) VALUES (CURRENT_TIMESTAMP, 'auth.login', 'x')"
                )
            )
            assert (
                conn.execute(sa.text("SELECT count(*) FROM sys_role WHERE name = 'auditor'")).scalar_one()
                == 1
            )
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM sys_audit"))
    finally:
        engine.dispose()
