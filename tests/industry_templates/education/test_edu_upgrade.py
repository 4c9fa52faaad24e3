"""Upgrading the education pack 1.0.0 -> 1.1.0: attendance gains its class and an attended figure, leads an
enrolled figure, computed for the records already there, and the cockpit shows the two rate reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from industry_templates.upgrade import upgrade_pack
from tests.industry_templates.packsupport import Site, copy_pack, edit_json, records_of

PACK_DIR = Path(__file__).resolve().parents[3] / "industry_templates" / "packs" / "education"
NEW_FIELDS = {"attendance": ("edu_class", "attended_pct"), "edu_lead": ("enrolled_pct",)}
OLD_REPORTS = {
    "trial_conversion_by_advisor": "leads_by_advisor",
    "attendance_by_class": "attendance_by_status",
}


def release_1_0(folder: Path) -> Path:
    """Write the pack as 1.0.0 shipped it: counts by status, no rates."""
    pack = copy_pack(PACK_DIR, folder / "education-1.0.0")
    edit_json(pack / "pack.json", lambda m: m.update(version="1.0.0"))
    for entity, names in NEW_FIELDS.items():

        def drop(doc: dict[str, Any], names: tuple[str, ...] = names) -> None:
            doc["fields"] = [f for f in doc["fields"] if f["name"] not in names]

        edit_json(pack / "metadata" / "entity" / f"{entity}.json", drop)

    def cockpit(doc: dict[str, Any]) -> None:
        for widget in doc["widgets"]:
            if widget.get("report") in OLD_REPORTS:
                widget["report"] = OLD_REPORTS[widget["report"]]

    edit_json(pack / "metadata" / "dashboard" / "campus_cockpit.json", cockpit)
    for name in OLD_REPORTS:
        (pack / "metadata" / "report" / f"{name}.json").unlink()
    return pack


def test_upgrade_computes_the_new_figures_for_existing_records(
    pack_site: Callable[..., Site], tmp_path: Path
) -> None:
    site = pack_site(release_1_0(tmp_path))
    assert "attended_pct" not in records_of(site, "attendance")[0]

    report = upgrade_pack(site.services, PACK_DIR, actor=site.admin)
    assert (report.from_version, report.to_version, report.conflicts) == ("1.0.0", "1.1.0", [])

    enrolments = {e["id"]: e["edu_class"] for e in records_of(site, "enrollment")}
    for row in records_of(site, "attendance"):
        assert row["edu_class"] == enrolments[row["enrollment"]]
        assert row["attended_pct"] == (100 if row["status"] in ("present", "late") else 0)
    for lead in records_of(site, "edu_lead"):
        assert lead["enrolled_pct"] == (100 if lead["status"] == "won" else 0)
    reports = [
        w.get("report")
        for w in site.services.metadata.model().bundle.docs("dashboard")["campus_cockpit"]["widgets"]
    ]
    assert {"trial_conversion_by_advisor", "attendance_by_class"} <= set(reports)
