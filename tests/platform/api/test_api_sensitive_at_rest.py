"""Acceptance: sensitive values cannot be read in the database file or in the logs.

Records with sensitive values are created, updated, filtered, clash on uniqueness and fail
validation through the API, with SQL echo on; then the database is read raw (the SQLite file's
bytes, or every PostgreSQL table's columns by plain SQL) and every log line, response and audit
row is searched for the values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from crm_platform.app import create_app
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api
from tests.platform.encryptionsupport import TEST_ENCRYPTION

CONTACT = {
    "title_field": "name",
    "fields": [
        {"name": "name", "type": "text", "required": True, "searchable": True},
        {"name": "email", "type": "email", "sensitive": True, "search_hash": True, "unique": True},
        {"name": "mobile", "type": "phone", "sensitive": True, "search_hash": True, "searchable": True},
        {"name": "passport", "type": "text", "sensitive": True, "max_length": 12},
        {"name": "salary", "type": "decimal", "scale": 2, "sensitive": True},
    ],
}
# Values chosen so that no masked or hashed form can contain them by chance.
SECRETS = {
    "email": "zebra.quokka@secret-mail.example",
    "mobile": "13987654321",
    "passport": "PXQ7781934",
    "salary": "987654.32",
}
UPDATED = {"mobile": "13511223344", "passport": "PZZ0042117"}
INVALID = {"email": "quokka-not-an-address", "passport": "TOO-LONG-PASSPORT-VALUE-99"}
EVERY_SECRET = [*SECRETS.values(), *UPDATED.values(), *INVALID.values(), "zebra.quokka"]


@pytest.fixture
def echo_app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    built = create_app(
        {
            "CRM_DATABASE_URL": db_url,
            "CRM_INSTANCE_DIR": str(tmp_path),
            "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
            "SECRET_KEY": "test",
            "CRM_SQL_ECHO": True,
            **TEST_ENCRYPTION,
        }
    )
    yield built
    built.extensions["crm"].engine.dispose()


def _raw_database(svc: CrmServices, db_kind: str, db_url: str) -> str:
    if db_kind == "sqlite":
        path = Path(sa.make_url(db_url).database or "")
        files = [path, path.with_name(path.name + "-wal")]
        return "\n".join(f.read_bytes().decode("utf-8", "replace") for f in files if f.exists())
    dumps = []
    with svc.engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'):
                dumps.append(repr(tuple(row)))
    return "\n".join(dumps)


def test_sensitive_values_are_in_neither_the_database_nor_the_logs(
    echo_app: Flask,
    db_kind: str,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    svc: CrmServices = echo_app.extensions["crm"]
    admin_user = create_user(svc.engine, "admin", "admin-password", is_admin=True)
    admin = Api(echo_app.test_client(), create_token(svc.engine, admin_user.id, "tests"))
    admin.define("entity", "contact", CONTACT)
    admin.publish("contacts")
    responses: list[str] = []

    created = admin.ok("POST", "/records/contact", {"name": "Zed", **SECRETS}, status=201)
    assert created["mobile"] == SECRETS["mobile"]  # the owner still reads the clear value
    record_id = created["id"]
    updated = admin.ok("PATCH", f"/records/contact/{record_id}", UPDATED)
    assert updated["passport"] == UPDATED["passport"]
    found = admin.ok("GET", f"/records/contact?email={SECRETS['email'].upper()}")["items"]
    assert [r["id"] for r in found] == [record_id]
    assert [r["id"] for r in admin.ok("GET", f"/records/contact?q={UPDATED['mobile']}")["items"]] == [
        record_id
    ]
    assert admin.ok("GET", f"/records/contact?mobile__in={SECRETS['mobile']},{UPDATED['mobile']}")["items"]

    clash = admin.post("/records/contact", {"name": "Copy", "email": SECRETS["email"]})
    invalid = admin.post("/records/contact", {"name": "Bad", **INVALID})
    refused = admin.get(f"/records/contact?passport__contains={SECRETS['passport']}")
    for response, status in ((clash, 422), (invalid, 422), (refused, 400)):
        assert response.status_code == status, response.get_data(as_text=True)
        responses.append(response.get_data(as_text=True))
    assert "stored encrypted" in responses[2]
    history = admin.ok("GET", f"/records/contact/{record_id}/audit")
    responses.append(str(history))

    logged = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(capfd.readouterr())
    assert "rec_contact" in logged  # SQL echo was on, so the check below looked at real statements
    raw = _raw_database(svc, db_kind, db_url)
    assert "Zed" in raw  # a value that is not sensitive is readable, so the search itself works
    with svc.engine.connect() as conn:
        audit = "\n".join(repr(tuple(r)) for r in conn.exec_driver_sql("SELECT * FROM sys_audit"))
    assert "rec_contact" in audit or "contact" in audit
    for secret in EVERY_SECRET:
        for where, text in (
            ("database", raw),
            ("logs", logged),
            ("audit rows", audit),
            ("responses", "\n".join(responses)),
        ):
            assert secret.lower() not in text.lower(), f"{secret!r} readable in the {where}"
