"""Upgrading the manufacturing pack 1.0.0 -> 1.1.0: the "below reorder level" flag arrives computed for the
parts already in stock, and the cockpit's parts list shows exactly those parts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from industry_templates.upgrade import upgrade_pack
from tests.industry_templates.packsupport import Site, copy_pack, edit_json, records_of

PACK_DIR = Path(__file__).resolve().parents[3] / "industry_templates" / "packs" / "manufacturing"


def release_1_0(folder: Path) -> Path:
    """Write the pack as 1.0.0 shipped it: no flag, and the cockpit listed the lowest stock first."""
    pack = copy_pack(PACK_DIR, folder / "manufacturing-1.0.0")
    edit_json(pack / "pack.json", lambda m: m.update(version="1.0.0"))

    def part(doc: dict[str, Any]) -> None:
        doc["fields"] = [f for f in doc["fields"] if f["name"] != "below_reorder"]

    def cockpit(doc: dict[str, Any]) -> None:
        widget = doc["widgets"][-1]
        widget.pop("filters")
        widget["title"] = {"en": "Spare parts lowest in stock", "zh-CN": "库存最低的备件"}

    edit_json(pack / "metadata" / "entity" / "spare_part.json", part)
    edit_json(pack / "metadata" / "dashboard" / "service_cockpit.json", cockpit)
    return pack


def test_upgrade_computes_the_flag_for_existing_parts(pack_site: Callable[..., Site], tmp_path: Path) -> None:
    site = pack_site(release_1_0(tmp_path))
    assert "below_reorder" not in records_of(site, "spare_part")[0]

    report = upgrade_pack(site.services, PACK_DIR, actor=site.admin)
    assert (report.from_version, report.to_version, report.conflicts) == ("1.0.0", "1.1.0", [])

    parts = records_of(site, "spare_part")
    assert {p["part_no"]: p["below_reorder"] for p in parts} == {
        p["part_no"]: p["stock"] < p["reorder_level"] for p in parts
    }
    assert any(p["below_reorder"] for p in parts) and not all(p["below_reorder"] for p in parts)
    widget = site.services.metadata.model().bundle.docs("dashboard")["service_cockpit"]["widgets"][-1]
    assert widget["filters"] == [{"field": "below_reorder", "op": "eq", "value": "true"}]
