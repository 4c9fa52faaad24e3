"""Helpers for pack tests: a site (app + services) on a fresh database with packs installed.

    site = installed_site(db_url, "retail", sample=True)      # bundled pack names or folders
    site.runtime().list("member", ...)                        # the record runtime of the active version
    api = site.api()                                          # admin API client (tests.platform.api.apisupport.Api)
    api = site.api("store_manager")                           # a demo user's API client
    site.close()

or the ``pack_site`` fixture of tests/industry_templates/conftest.py, which closes the site itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crm_platform.app import create_app
from crm_platform.auth.apitokens import create_token
from crm_platform.auth.passwords import hash_password
from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from industry_templates.installer import InstallReport, install_pack
from metamodel.records.hooks import Actor
from metamodel.records.runtime import SYSTEM, RecordRuntime
from metamodel.systables import users
from tests.platform.api.apisupport import Api
from tests.platform.encryptionsupport import TEST_ENCRYPTION

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-1"
DEMO_PASSWORD = "demo-password-1"  # the password of every demo user of a pack's org.json


@dataclass
class Site:
    """An app on one test database, its services, its administrator and what the installs reported."""

    app: Flask
    services: CrmServices
    admin: Actor
    reports: list[InstallReport] = field(default_factory=list)

    def runtime(self) -> RecordRuntime:
        """Return the record runtime of the active metadata version."""
        return self.services.runtime()

    def user_id(self, username: str) -> int:
        """Return a user's id."""
        with self.services.engine.connect() as conn:
            found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        assert found is not None, f"no user {username}"
        return int(found)

    def actor(self, username: str) -> Actor:
        """Return the record-runtime actor of a user (its grants are resolved by the runtime)."""
        with self.services.engine.connect() as conn:
            row = conn.execute(
                select(users.c.id, users.c.is_admin).where(users.c.username == username)
            ).first()
        assert row is not None, f"no user {username}"
        return Actor(int(row.id), username, bool(row.is_admin))

    def client(self) -> FlaskClient:
        """Return a fresh Flask test client of the site's app."""
        return self.app.test_client()

    def api(self, username: str = ADMIN) -> Api:
        """Return an API client authenticated with a new token of ``username``."""
        return Api(self.client(), create_token(self.services.engine, self.user_id(username), "pack tests"))

    def install(self, pack: str | Path, *, sample: bool = True, **kwargs: Any) -> InstallReport:
        """Install one more pack (bundled name or folder) as the administrator."""
        report = install_pack(
            self.services,
            pack,
            with_sample_data=sample,
            actor=self.admin,
            password_hash=hash_password(DEMO_PASSWORD) if sample else None,
            **kwargs,
        )
        self.reports.append(report)
        return report

    def close(self) -> None:
        """Release the database connections."""
        self.services.engine.dispose()


def build_site(db_url: str, instance_dir: Path | None = None) -> Site:
    """Return an empty site with an administrator (``admin`` / ADMIN_PASSWORD)."""
    config: dict[str, Any] = {
        "CRM_DATABASE_URL": db_url,
        "SECRET_KEY": "test",
        "TESTING": True,
        "CRM_SCHEDULER": "off",
        **TEST_ENCRYPTION,
    }
    if instance_dir is not None:
        config.update(
            {"CRM_INSTANCE_DIR": str(instance_dir), "CRM_ATTACHMENT_DIR": str(instance_dir / "att")}
        )
    app = create_app(config)
    services: CrmServices = app.extensions["crm"]
    account = create_user(services.engine, ADMIN, ADMIN_PASSWORD, is_admin=True)
    return Site(app, services, Actor(account.id, ADMIN, True))


def installed_site(
    db_url: str, *packs: str | Path, sample: bool = True, instance_dir: Path | None = None
) -> Site:
    """Return a site with ``packs`` installed in order (bundled names or folders), with sample data."""
    site = build_site(db_url, instance_dir)
    for pack in packs:
        site.install(pack, sample=sample)
    return site


def fixture_pack(name: str) -> Path:
    """Return the folder of a test pack in tests/industry_templates/fixtures/."""
    return FIXTURES / name


def with_now(actor: Actor, now: Any) -> Actor:
    """Return ``actor`` acting at ``now``."""
    return dataclasses.replace(actor, now=now)


def records_of(site: Site, entity: str, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Return every record of ``entity`` the actor (default: the system) may see, oldest first."""
    from metamodel.records.query import ListQuery

    query = ListQuery(sort="id", limit=500)
    return site.runtime().list(entity, query, actor or SYSTEM).items


def copy_pack(source: Path, target: Path) -> Path:
    """Copy a pack folder (to change it in a test) and return the copy."""
    import shutil

    shutil.copytree(source, target)
    return target


def edit_json(path: Path, change: Any) -> None:
    """Load a JSON file, let ``change(data)`` alter it in place, and write it back."""
    import json

    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")


def site_state(site: Site) -> dict[str, Any]:
    """Return everything a pack writes: versions, draft, tables, roles, org, users, pack rows, record counts."""
    from sqlalchemy import func, inspect

    from metamodel import systables as t

    engine = site.services.engine
    with engine.connect() as conn:
        state: dict[str, Any] = {
            "active": site.services.metadata.active_version(),
            "versions": conn.execute(select(func.count()).select_from(t.meta_versions)).scalar_one(),
            "draft": site.services.metadata.draft(conn).to_json(),
            "tables": sorted(inspect(conn).get_table_names()),
            "physical": sorted(tuple(r) for r in conn.execute(select(t.physical_tables))),
        }
        for name in (
            "roles",
            "role_permissions",
            "org_units",
            "org_unit_tree",
            "users",
            "user_roles",
            "user_org_units",
            "packs",
            "access_state",
        ):
            table = getattr(t, name)
            state[name] = sorted(
                tuple(
                    str(v)
                    for k, v in row._mapping.items()
                    if k not in ("created_at", "installed_at", "password_hash")
                )
                for row in conn.execute(select(table))
            )
        counts = {}
        for name in state["tables"]:
            if name.startswith("rec_") or name.startswith("rm_"):
                counts[name] = conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{name}"').scalar_one()
        state["counts"] = counts
    return state


def bundle_dir(root: Path, **packs: Path) -> Path:
    """Make ``root`` a folder of bundled packs (name -> source folder) and return it; tests point
    ``industry_templates.installer.BUNDLED_DIR`` at it with monkeypatch."""
    import shutil

    root.mkdir(parents=True, exist_ok=True)
    for name, source in packs.items():
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.copytree(source, root / name)
    return root
