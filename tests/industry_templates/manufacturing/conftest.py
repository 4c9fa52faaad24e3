"""Fixtures of the manufacturing pack's scenario tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.industry_templates.manufacturing.mfgsupport import MfgSite, mfg_site
from tests.industry_templates.packsupport import Site


@pytest.fixture
def mfg(pack_site: Callable[..., Site]) -> MfgSite:
    """A fresh site with the manufacturing pack and its sample data, on a fake clock at T0."""
    return mfg_site(pack_site())
