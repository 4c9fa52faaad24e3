"""A pack that fails halfway leaves the site exactly as it was: metadata, tables, roles, org, records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from metamodel.errors import CrmError, MetadataInvalid, RecordInvalid
from tests.industry_templates.packsupport import (
    Site,
    copy_pack,
    edit_json,
    fixture_pack,
    records_of,
    site_state,
)

SHOP = fixture_pack("tinyshop-1.0")


def _site_with_history(pack_site: Callable[..., Site]) -> Site:
    """A site that already has a published version, a role and a record of its own."""
    site = pack_site()
    svc = site.services
    svc.metadata.put_document(
        "entity", "note", {"name": "note", "fields": [{"name": "text", "type": "text"}]}, "admin"
    )
    svc.metadata.publish("admin", "the site's own entity")
    site.runtime().create("note", {"text": "keep me"})
    return site


def _broken(tmp_path: Path, file: str, change: Callable[[Any], None]) -> Path:
    pack = copy_pack(SHOP, tmp_path / "broken")
    edit_json(pack / file, change)
    return pack


CASES = {
    # The last sample record links to a member that does not exist: found after everything else was written.
    "bad link in the last record": (
        "sample_data/records.json",
        lambda r: r["records"]["visit"].append({"member": "+860000", "visited_on": "@today"}),
        RecordInvalid,
        "sample_data/records.json.records.visit[2].member",
    ),
    # A link named by a number key with text: refused cleanly (PostgreSQL would fail the comparison).
    "link key of the wrong type": (
        "sample_data/records.json",
        lambda r: (r["keys"].update(member="visits"), r["records"]["visit"][0].update(member="abc")),
        RecordInvalid,
        "sample_data/records.json.records.visit[0].member",
    ),
    "bad value in a record": (
        "sample_data/records.json",
        lambda r: r["records"]["member"][1].update(tier="diamond"),
        RecordInvalid,
        "sample_data/records.json.records.member[1].tier",
    ),
    "bad expression": (
        "metadata/entity/visit_line.json",
        lambda e: e["fields"][3]["rules"].update(formula="qty * (price"),
        MetadataInvalid,
        "entity.visit_line.fields[3].rules.formula",
    ),
    "unknown org unit of a demo user": (
        "sample_data/org.json",
        lambda o: o["users"][1].update(unit="nowhere"),
        RecordInvalid,
        "sample_data/org.json.users[1].unit",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_pack_failing_halfway_leaves_nothing_behind(
    pack_site: Callable[..., Site], tmp_path: Path, case: str
) -> None:
    file, change, error, path = CASES[case]
    site = _site_with_history(pack_site)
    before = site_state(site)
    with pytest.raises(error) as caught:
        site.install(_broken(tmp_path, file, change))
    assert path in {p.path for p in caught.value.problems}, caught.value.problems
    assert site_state(site) == before
    assert [n["text"] for n in records_of(site, "note")] == ["keep me"]
    # The same site then takes the good pack, and its version numbers continue without a gap.
    report = site.install(SHOP)
    assert report.metadata_version == 2 and report.records == 6


def test_a_failed_install_on_an_empty_site_leaves_it_empty(
    pack_site: Callable[..., Site], tmp_path: Path
) -> None:
    site = pack_site()
    before = site_state(site)
    with pytest.raises(CrmError):
        site.install(
            _broken(
                tmp_path,
                "sample_data/records.json",
                lambda r: r["records"]["store"].append({"code": "SH01", "name": "dup"}),
            )
        )
    assert site_state(site) == before
    assert site.services.metadata.active_version() is None
