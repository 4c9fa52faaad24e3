"""Encryption settings: keys from configuration, the local key file, the opt-out and start-up checks."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm_platform.app import create_app
from crm_platform.encryption import (
    KEY_FILE,
    EncryptionNotConfigured,
    EncryptionSettings,
    load_encryption,
    prepare_encryption,
)
from crm_platform.services import CrmServices
from metamodel.crypto.keyring import generate_key
from metamodel.crypto.sealing import Sealing
from metamodel.definitions import Bundle
from metamodel.errors import MetadataInvalid
from metamodel.versions import MetadataService
from tests.metamodel.crypto.cryptosupport import KEY_NEW, KEY_OLD
from tests.platform.encryptionsupport import TEST_ENCRYPTION

PATIENT = {
    "name": "patient",
    "fields": [{"name": "name", "type": "text"}, {"name": "insurance_no", "type": "text", "sensitive": True}],
}


def settings(tmp_path: Path, url: str, **extra: Any) -> dict[str, Any]:
    return {"CRM_INSTANCE_DIR": str(tmp_path / "instance"), "CRM_DATABASE_URL": url, **extra}


def app_on(db_url: str, tmp_path: Path, **extra: Any) -> Flask:
    return create_app({**settings(tmp_path, db_url), "SECRET_KEY": "test", **extra})


def publish_patients(svc: CrmServices) -> None:
    svc.metadata.replace_draft(Bundle.from_json({"entity": {"patient": dict(PATIENT)}}), "tester")
    svc.metadata.publish("tester")


def test_a_local_sqlite_site_keeps_generated_keys_in_a_private_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    first = load_encryption(settings(tmp_path, url))
    path = tmp_path / "instance" / KEY_FILE
    assert first.source == "local-file" and stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_encryption(settings(tmp_path, url))
    assert first.sealing.keyring is not None and second.sealing.keyring is not None
    stored = first.sealing.keyring.encrypt(b"value", b"e/f")
    assert second.sealing.keyring.decrypt(stored, b"e/f") == b"value"
    assert second.sealing.keyring.can_hash


def test_other_databases_need_configured_keys(tmp_path: Path) -> None:
    url = "postgresql+psycopg://crm@db.example.com/crm"
    assert load_encryption(settings(tmp_path, url)).source == "missing"
    assert not (tmp_path / "instance" / KEY_FILE).exists()
    configured = load_encryption(settings(tmp_path, url, **TEST_ENCRYPTION))
    assert configured.source == "configured" and configured.sealing.enabled
    assert load_encryption(settings(tmp_path, url, CRM_ENCRYPTION="off")).source == "off"


@pytest.mark.parametrize(
    "keys", ["k1", "k1:short", f"k1:{KEY_OLD},k1:{KEY_NEW}"], ids=["no-key", "short", "twice"]
)
def test_malformed_keys_stop_the_start_with_a_clear_message(tmp_path: Path, keys: str) -> None:
    with pytest.raises(EncryptionNotConfigured, match="CRM_ENCRYPTION_KEYS") as caught:
        load_encryption(settings(tmp_path, "sqlite://", CRM_ENCRYPTION_KEYS=keys))
    for part in keys.split(","):
        secret = part.partition(":")[2]
        assert len(secret) < 8 or secret not in caught.value.message  # key material is never echoed


def test_without_keys_sensitive_fields_are_refused_at_publish_and_start(app: Flask, svc: CrmServices) -> None:
    missing = EncryptionSettings(Sealing(None), "missing")
    metadata = MetadataService(svc.engine, svc.field_types, checks=[missing.check_bundle])
    metadata.replace_draft(Bundle.from_json({"entity": {"patient": dict(PATIENT)}}), "tester")
    with pytest.raises(MetadataInvalid) as caught:
        metadata.publish("tester")
    assert "CRM_ENCRYPTION_KEYS" in caught.value.problems[0].message
    assert caught.value.problems[0].path == "entity.patient.fields[1].sensitive"
    publish_patients(svc)  # the configured app encrypts
    with pytest.raises(EncryptionNotConfigured, match="sensitive field"):
        prepare_encryption(metadata, missing)


def test_opting_out_stores_plainly_and_switching_on_encrypts_at_the_next_start(
    db_url: str, tmp_path: Path
) -> None:
    plain = app_on(db_url, tmp_path, CRM_ENCRYPTION="off")
    svc: CrmServices = plain.extensions["crm"]
    publish_patients(svc)
    svc.runtime().create("patient", {"name": "Pat", "insurance_no": "INS-991"})
    plain_engine = svc.engine

    def stored() -> Any:
        with plain_engine.connect() as conn:
            return conn.execute(sa.text("SELECT insurance_no FROM rec_patient")).scalar_one()

    assert stored() == "INS-991"
    encrypted = app_on(db_url, tmp_path, **TEST_ENCRYPTION)
    assert stored().startswith("v1:test1:")
    record = encrypted.extensions["crm"].runtime().get("patient", 1)
    assert record["insurance_no"] == "INS-991"
    encrypted.extensions["crm"].engine.dispose()
    plain_engine.dispose()


def test_the_demo_stores_customer_phones_and_emails_encrypted(db_url: str, tmp_path: Path) -> None:
    from crm_platform.demo import prepare_demo

    app = app_on(db_url, tmp_path, **TEST_ENCRYPTION)
    svc: CrmServices = app.extensions["crm"]
    prepare_demo(app)
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT phone, email FROM rec_customer WHERE phone IS NOT NULL")).all()
    assert rows and all(
        p.startswith("v1:test1:") and (e is None or e.startswith("v1:test1:")) for p, e in rows
    )
    customers = (
        svc.runtime().list("customer", parse(svc, phone=svc.runtime().get("customer", 1)["phone"])).items
    )
    assert [c["id"] for c in customers] == [1]
    svc.engine.dispose()


def test_a_removed_key_answers_a_clear_500(db_url: str, tmp_path: Path) -> None:
    first = app_on(db_url, tmp_path, **TEST_ENCRYPTION)
    publish_patients(first.extensions["crm"])
    first.extensions["crm"].runtime().create("patient", {"name": "Pat", "insurance_no": "INS-1"})
    first.extensions["crm"].engine.dispose()
    other = app_on(db_url, tmp_path, CRM_ENCRYPTION_KEYS=f"other:{generate_key()}")
    from crm_platform.auth.users import create_token, create_user

    svc: CrmServices = other.extensions["crm"]
    token = create_token(
        svc.engine, create_user(svc.engine, "admin", "admin-password", is_admin=True).id, "t"
    )
    response = other.test_client().get(
        "/api/v1/records/patient/1", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "encryption_error" and "key 'test1'" in error["message"]
    assert "INS-1" not in response.get_data(as_text=True)
    svc.engine.dispose()


def parse(svc: CrmServices, **query: str) -> Any:
    from metamodel.records.query import parse_list_args

    model = svc.metadata.model().entity("customer")
    return parse_list_args(model, svc.field_types, {k: [v] for k, v in query.items()})
