"""Engine creation (with SQLite made transactional and foreign-key aware) and system-table migrations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from metamodel.records.buckets import register_sqlite_functions


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, foreign keys and real transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    # No ping on each checkout (it cost a round trip per connection use): connections are recycled
    # before servers or firewalls drop idle ones, and a dead one fails once and is replaced.
    kwargs.setdefault("pool_recycle", 1800)
    return create_engine(url, **kwargs)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Begin a transaction that will write: on SQLite it takes the write lock at once (BEGIN IMMEDIATE)."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        yield conn


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite's own transaction handling skips DDL; take it over so schema changes roll back too.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    # BEGIN is the dialect's, not a "begin" event's: any event listened for on the engine switches on
    # SQLAlchemy's event dispatch for every statement, begin and commit of every connection (6 % of a
    # one-record GET, bench/api_edge.py). Only a connection opened for writing listens for its own begin.
    dialect = engine.dialect
    default_options = dialect.set_connection_execution_options

    def _set_options(connection: Connection, options: Mapping[str, Any]) -> None:
        default_options(connection, options)
        if "sqlite_immediate" in options:
            wanted = bool(options["sqlite_immediate"])
            if wanted != event.contains(connection, "begin", _begin_immediate):
                (event.listen if wanted else event.remove)(connection, "begin", _begin_immediate)

    dialect.do_begin = _begin_deferred  # type: ignore[method-assign]
    dialect.set_connection_execution_options = _set_options  # type: ignore[method-assign,assignment]


def _begin_immediate(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked" when
    # another writer got there first; IMMEDIATE takes the write lock up front and waits its turn.
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # may time out busy: SQLAlchemy wraps the error


def _begin_deferred(dbapi_connection: Any) -> None:
    # A deferred BEGIN takes no lock and cannot be busy: straight to the driver, as psycopg begins.
    # A connection opened for writing has begun IMMEDIATE already (its begin event runs first).
    driver = dbapi_connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN")


def alembic_config(extra_version_locations: Sequence[str] = ()) -> Config:
    """Return the Alembic configuration; packages with their own tables add their version folders."""
    config = Config()
    root = resources.files("metamodel") / "migrations"
    config.set_main_option("script_location", str(root))
    locations = [str(root / "versions"), *extra_version_locations]
    config.set_main_option("path_separator", "space")
    config.set_main_option("version_locations", " ".join(locations))
    return config


_MIGRATION_LOCK = 0x63726D5F6D6967  # arbitrary constant ("crm_mig"), the advisory-lock key of migrations


def upgrade_database(engine: Engine, extra_version_locations: Sequence[str] = ()) -> None:
    """Create or upgrade the system tables (and those of packages that add migrations) to the newest."""
    config = alembic_config(extra_version_locations)
    with engine.connect().execution_options(sqlite_immediate=True) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            # Workers starting together (gunicorn -w N) would race to create the same tables.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
