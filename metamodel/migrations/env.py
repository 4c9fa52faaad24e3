"""Alembic environment for the platform's system tables (record tables are managed by schema sync)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from metamodel.systables import system_metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=system_metadata,
        render_as_batch=True,
        include_name=lambda name, type_, parent: type_ != "table" or str(name).startswith("sys_"),
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as conn:
        _run(conn)
