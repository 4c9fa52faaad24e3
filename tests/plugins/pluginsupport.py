"""Installing test plugins through real entry points: a ``*.dist-info`` folder on a temporary sys.path entry."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

import pytest

from plugins.loader import ENTRY_POINT_GROUP

SAMPLE = {"sample": "tests.plugins.sample_plugin:plugin"}
BROKEN = {
    "broken": "tests.plugins.broken_plugins:broken",
    "bogus": "tests.plugins.broken_plugins:not_a_plugin",
    "clash": "tests.plugins.broken_plugins:clash",
    "missing_module": "tests.plugins.no_such_module:plugin",
}


def install_distribution(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    entry_points: Mapping[str, str],
    name: str = "crm_test_plugins",
    version: str = "2.1.0",
) -> Path:
    """Write ``<name>-<version>.dist-info`` with the entry points under ``root`` and put ``root`` on sys.path."""
    info = root / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"[{ENTRY_POINT_GROUP}]", *(f"{key} = {target}" for key, target in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    return info
