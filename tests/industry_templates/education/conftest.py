"""The ``edu`` fixture: the education pack installed on the test's database, closed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.industry_templates.education.edusupport import EduSite, edu_site


@pytest.fixture
def edu(db_url: str, tmp_path: Path) -> Iterator[Callable[..., EduSite]]:
    """Return ``make(records=True)``: a site with the pack, its demo org and users (and sample records)."""
    made: list[EduSite] = []

    def make(*, records: bool = True) -> EduSite:
        made.append(edu_site(db_url, tmp_path, records=records))
        return made[-1]

    yield make
    for site in made:
        site.site.close()
