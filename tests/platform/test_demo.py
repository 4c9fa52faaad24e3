"""prepare_demo: loads the demo CRM into an empty database once, and prints a sign-in that works."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from flask import Flask

from crm_platform.app import create_app
from crm_platform.auth.users import authenticate, create_user
from crm_platform.demo import CREDENTIALS_FILE, DEMO_ENTITIES, demo_bundle, prepare_demo
from crm_platform.services import CrmServices
from industry_templates.installer import bundled_packs, load_pack
from industry_templates.store import installed_packs
from metamodel.definitions import Bundle
from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery

EXPECTED_COUNTS = {"customer": 8, "product": 5, "sales_order": 7}


def counts(svc: CrmServices) -> dict[str, int]:
    """Count the records of each top-level demo entity through the record runtime."""
    runtime = svc.runtime()
    return {name: runtime.list(name, ListQuery(count=True)).total or 0 for name in EXPECTED_COUNTS}


def login_password(lines: list[str]) -> str:
    """Return the admin password from the printed lines."""
    found = [m.group(1) for line in lines if (m := re.match(r"Demo login: admin / (\S+)", line))]
    assert len(found) == 1, lines
    return found[0]


def test_demo_on_an_empty_database(app: Flask, svc: CrmServices, crm_env: dict[str, str]) -> None:
    """Publishes the bilingual demo metadata, creates both users and about twenty sample records."""
    lines = prepare_demo(app)
    # The demo's own version, then one per bundled industry pack.
    assert svc.metadata.active_version() == 1 + len(bundled_packs())
    model = svc.metadata.model()
    for name in DEMO_ENTITIES:
        entity = model.entity(name).entity
        assert entity.label("en") and entity.label("zh-CN") != entity.label("en")
        for field in entity.fields:
            assert field.label("zh-CN") != field.label("en"), f"{name}.{field.name}"
    assert model.entity("sales_order").entity.label("zh-CN") == "销售订单"
    assert {"customer", "sales_order"} <= set(svc.metadata.draft().docs("form"))
    assert len(svc.metadata.draft().docs("form")["customer"]["tabs"]) == 2

    assert counts(svc) == EXPECTED_COUNTS
    runtime = svc.runtime()
    page = runtime.list("sales_order", ListQuery(sort="id", limit=100))
    assert all(re.fullmatch(r"SO-\d{4}-\d{6}", o["record_no"]) for o in page.items)
    first = runtime.get("sales_order", page.items[0]["id"])
    assert first["_titles"]["customer"] == "上海星辰贸易有限公司"
    assert [line["quantity"] for line in first["lines"]] == [25, 2]
    assert first["lines"][0]["_titles"]["product"].startswith("CRM Cloud licence")

    password = login_password(lines)
    admin = authenticate(svc.engine, "admin", password)
    assert admin is not None and admin.is_admin
    normal = authenticate(svc.engine, "demo", password)
    assert normal is not None and not normal.is_admin
    assert any("/login" in line for line in lines)

    demo_actor = Actor(normal.id, "demo")
    assert (
        svc.runtime().list("customer", ListQuery(count=True), demo_actor).total == EXPECTED_COUNTS["customer"]
    )

    credentials = Path(crm_env["CRM_INSTANCE_DIR"]) / CREDENTIALS_FILE
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert f"admin:{password}" in credentials.read_text("utf-8")


def test_demo_is_idempotent(app: Flask, svc: CrmServices) -> None:
    """A second call, also from a new app (a restart), creates nothing and prints the same login."""
    password = login_password(prepare_demo(app))
    again = prepare_demo(app)
    restarted = create_app()
    try:
        third = prepare_demo(restarted)
    finally:
        restarted.extensions["crm"].engine.dispose()
    assert login_password(again) == login_password(third) == password
    assert not any("published" in line or "created" in line for line in again + third)
    expected = 1 + len(bundled_packs())
    assert svc.metadata.active_version() == expected and len(svc.metadata.versions()) == expected
    assert counts(svc) == EXPECTED_COUNTS
    with svc.engine.connect() as conn:
        pack_users = sum(len((load_pack(n).org or {}).get("users") or []) for n in bundled_packs())
        assert conn.exec_driver_sql("SELECT count(*) FROM sys_user").scalar() == 2 + pack_users


def test_demo_password_from_environment(
    app: Flask, svc: CrmServices, crm_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CRM_DEMO_PASSWORD is used as is and not written to the instance folder."""
    monkeypatch.setenv("CRM_DEMO_PASSWORD", "from-the-env-1")
    assert login_password(prepare_demo(app)) == "from-the-env-1"
    assert authenticate(svc.engine, "admin", "from-the-env-1") is not None
    assert not (Path(crm_env["CRM_INSTANCE_DIR"]) / CREDENTIALS_FILE).exists()


def test_demo_leaves_other_metadata_alone(app: Flask, svc: CrmServices) -> None:
    """A database with its own published metadata gets no demo entities, users or records."""
    bundle = Bundle()
    bundle.documents["entity"]["ticket"] = {"name": "ticket", "fields": [{"name": "subject", "type": "text"}]}
    svc.metadata.replace_draft(bundle, "someone")
    svc.metadata.publish("someone", "my own CRM")
    assert prepare_demo(app) == []
    assert set(svc.metadata.model().bundle.docs("entity")) == {"ticket"}
    with svc.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sys_user").scalar() == 0

    # With a user called admin it only prints the sign-in hint, never a password it cannot vouch for.
    create_user(svc.engine, "admin", "their-own-pw")
    lines = prepare_demo(app)
    assert len(lines) == 1 and "password changed or unknown" in lines[0]
    assert len(svc.metadata.versions()) == 1


def test_demo_leaves_an_unpublished_draft_alone(app: Flask, svc: CrmServices) -> None:
    """Someone drafting metadata in a new database is not overwritten by the demo."""
    bundle = Bundle()
    bundle.documents["entity"]["lead"] = {"name": "lead", "fields": [{"name": "title", "type": "text"}]}
    svc.metadata.replace_draft(bundle, "someone")
    assert prepare_demo(app) == []
    assert svc.metadata.active_version() is None
    assert set(svc.metadata.draft().docs("entity")) == {"lead"}


def test_demo_pack_files_are_valid(svc: CrmServices) -> None:
    """The demo_data pack validates on its own (it is also importable with `crm import-meta`)."""
    assert svc.metadata.registry is not None
    from metamodel.validation import assign_ids, validate_bundle

    bundle = demo_bundle()
    assign_ids(bundle, None)
    assert validate_bundle(bundle, svc.metadata.registry) == []


def test_demo_installs_the_industry_packs_with_trade_logins(app: Flask, svc: CrmServices) -> None:
    """Every bundled pack is installed with its sample data; each trade's demo users sign in and see records."""
    lines = prepare_demo(app)
    password = login_password(lines)
    assert {"retail", "manufacturing", "education"} <= set(bundled_packs())
    with svc.engine.connect() as conn:
        assert set(installed_packs(conn)) == set(bundled_packs())
    printed = "\n".join(lines)
    for name in bundled_packs():
        pack = load_pack(name)
        people = (pack.org or {}).get("users") or []
        assert people, f"pack {name} ships no demo users"
        for person in people:
            assert person["username"] in printed
            user = authenticate(svc.engine, person["username"], password)
            assert user is not None and not user.is_admin
        samples = (pack.records or {}).get("records") or {}
        assert samples, f"pack {name} ships no sample records"
        for entity, rows in samples.items():
            # Rules may add records of their own (reminders, tickets), never lose sample ones.
            assert (svc.runtime().list(entity, ListQuery(count=True)).total or 0) >= len(rows), entity
    again = prepare_demo(app)
    assert not any("installed" in line for line in again)
