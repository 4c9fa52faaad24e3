"""The vendored browser assets match their manifest and the pins, and no page loads from a CDN."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "platform" / "static" / "vendor"


def _manifest() -> dict:
    return json.loads((VENDOR / "manifest.json").read_text("utf-8"))


def test_every_vendored_file_matches_its_manifest_hash() -> None:
    listed = set()
    for package in _manifest()["packages"]:
        assert package["version"] and package["license"], package["name"]
        for entry in package["files"]:
            path = VENDOR / entry["path"]
            listed.add(path)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], entry["path"]
    on_disk = {p for p in VENDOR.rglob("*") if p.is_file() and p.name != "manifest.json"}
    assert on_disk == listed, "files in vendor/ that the manifest does not list (or the reverse)"


def test_manifest_versions_are_the_pinned_ones() -> None:
    pins = json.loads((ROOT / "frontend" / "package.json").read_text("utf-8"))["dependencies"]
    versions = {p["name"]: p["version"] for p in _manifest()["packages"]}
    assert versions == pins
    lock = json.loads((ROOT / "frontend" / "package-lock.json").read_text("utf-8"))["packages"]
    for name, version in pins.items():
        assert lock[f"node_modules/{name}"]["version"] == version


def test_no_template_or_script_loads_from_another_origin() -> None:
    remote = re.compile(r"""(src|href)\s*=\s*["'](https?:)?//""", re.IGNORECASE)
    sources = [*ROOT.glob("**/templates/**/*.html"), *(ROOT / "platform" / "static").glob("*.js")]
    offenders = [
        str(p.relative_to(ROOT))
        for p in sources
        if ".venv" not in p.parts and remote.search(p.read_text("utf-8"))
    ]
    assert offenders == []
