"""Uninstalling a pack: metadata removed, records kept (and back on re-install) unless purged."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import inspect, select

from industry_templates.installer import PackConflict
from industry_templates.uninstall import uninstall_pack
from metamodel.access.admin import AccessAdmin
from metamodel.errors import NotFound
from metamodel.systables import packs
from tests.industry_templates.packsupport import Site, fixture_pack, records_of

SHOP, LOYALTY = fixture_pack("tinyshop-1.0"), fixture_pack("tinyshop_loyalty")


def _tables(site: Site) -> set[str]:
    with site.services.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_uninstall_keeps_records_and_a_reinstall_brings_them_back(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP)
    members = records_of(site, "member")
    report = uninstall_pack(site.services, "tinyshop", actor=site.admin)
    assert not report.purged and "entity.member" in report.removed and "form.member" in report.removed
    assert not site.services.metadata.model().bundle.docs("entity")
    assert not any(t.startswith("rec_") for t in _tables(site)) and any(
        t.startswith("rm_") for t in _tables(site)
    )
    assert not any(
        p["entity"] == "member" for p in AccessAdmin(site.services.engine).permissions("store_manager")
    )
    with site.services.engine.connect() as conn:
        assert conn.execute(select(packs.c.status)).scalar_one() == "removed"
    again = site.install(SHOP, sample=False)
    assert any(c.startswith("restored table rm_") for c in again.changes), again.changes
    assert [(m["id"], m["phone"]) for m in records_of(site, "member")] == [
        (m["id"], m["phone"]) for m in members
    ]
    assert len(records_of(site, "visit")) == 2


def test_purge_drops_the_record_tables(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP)
    report = uninstall_pack(site.services, "tinyshop", purge=True)
    assert report.purged and any(c.startswith("dropped table") for c in report.changes)
    assert not any(t.startswith(("rec_", "rm_")) for t in _tables(site))
    with site.services.engine.connect() as conn:
        assert conn.execute(select(packs)).first() is None
    site.install(SHOP)  # a fresh start, with fresh sample data
    assert len(records_of(site, "member")) == 2


def test_a_kept_pack_can_be_purged_later(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP)
    uninstall_pack(site.services, "tinyshop")
    uninstall_pack(site.services, "tinyshop", purge=True)
    assert not any(t.startswith(("rec_", "rm_")) for t in _tables(site))
    with pytest.raises(NotFound):
        uninstall_pack(site.services, "tinyshop")


def test_a_pack_another_pack_needs_is_not_uninstalled(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP, LOYALTY)
    with pytest.raises(PackConflict, match="needed by tinyshop_loyalty"):
        uninstall_pack(site.services, "tinyshop")
    uninstall_pack(site.services, "tinyshop_loyalty")
    uninstall_pack(site.services, "tinyshop")


def test_site_documents_that_use_the_pack_block_the_uninstall(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP)
    site.services.metadata.put_document(
        "entity",
        "gift",
        {"name": "gift", "fields": [{"name": "member", "type": "link", "target": "member"}]},
        "admin",
    )
    site.services.metadata.publish("admin")
    version = site.services.metadata.active_version()
    with pytest.raises(PackConflict) as caught:
        uninstall_pack(site.services, "tinyshop")
    assert "entity.gift.fields[0].target" in {p.path for p in caught.value.problems}
    assert site.services.metadata.active_version() == version
