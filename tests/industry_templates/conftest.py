"""Fixtures for the pack tests: sites on a fresh database, closed afterwards."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.industry_templates.packsupport import Site, build_site, installed_site


@pytest.fixture
def pack_site(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """Return ``make(*packs, sample=True)``: a site with those packs installed (``make()``: an empty site).

    One site per test: every site of a test shares the test's database.
    """
    built: list[Site] = []

    def make(*packs: str | Path, sample: bool = True) -> Site:
        site = installed_site(db_url, *packs, sample=sample, instance_dir=tmp_path / f"site{len(built)}") if packs else build_site(db_url, tmp_path / f"site{len(built)}")
        built.append(site)
        return site

    yield make
    for site in built:
        site.close()
