"""Fixtures for the pack tests: sites on a fresh database, closed afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL
from tests.industry_templates.packsupport import Site, build_site, installed_site


@pytest.fixture
def pack_site(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """Return ``make(*packs, sample=True)``: a site with those packs installed (``make()``: an empty site).

    One site per test: every site of a test shares the test's database.
    """
    built: list[Site] = []

    def make(*packs: str | Path, sample: bool = True) -> Site:
        site = (
            installed_site(db_url, *packs, sample=sample, instance_dir=tmp_path / f"site{len(built)}")
            if packs
            else build_site(db_url, tmp_path / f"site{len(built)}")
        )
        built.append(site)
        return site

    yield make
    for site in built:
        site.close()


@pytest.fixture
def other_db_url(db_kind: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a second brand-new database (same backend as ``db_url``), removed afterwards."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(PG_URL).update_query_dict(
        {"options": f"-csearch_path={schema}", "application_name": schema}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": schema},
            )
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
