"""The db_url fixture gives a brand-new, empty, isolated database on the selected backend."""

from __future__ import annotations

import sqlalchemy as sa


def test_db_url_is_empty_and_usable(db_url: str, db_kind: str) -> None:
    """Tables land in the fresh database (for PostgreSQL: the test's own schema)."""
    engine = sa.create_engine(db_url)
    try:
        assert engine.dialect.name == db_kind
        assert sa.inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE probe (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO probe (id) VALUES (1)")
        assert sa.inspect(engine).get_table_names() == ["probe"]
        if db_kind == "postgresql":
            with engine.connect() as conn:
                schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            assert schema is not None and schema.startswith("t_")
            assert sa.make_url(db_url).query["options"] == f"-csearch_path={schema}"
    finally:
        engine.dispose()


def test_db_url_survives_connections_left_open(db_url: str) -> None:
    """Teardown still drops the database when the test leaks an open transaction."""
    engine = sa.create_engine(db_url)
    conn = engine.connect()
    conn.exec_driver_sql("CREATE TABLE leaked (id INTEGER)")  # transaction left open on purpose
    conn.detach()  # once the server ends it, do not hand it back to the pool (avoids a noisy reset)
