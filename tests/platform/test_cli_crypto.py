"""``crm generate-key`` and ``crm rotate-key`` through the command line."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from crm_platform.app import create_app
from crm_platform.cli import cli
from metamodel.definitions import Bundle
from metamodel.errors import CrmError
from tests.platform.encryptionsupport import TEST_ENCRYPTION

PATIENT = {
    "name": "patient",
    "fields": [
        {"name": "name", "type": "text"},
        {"name": "insurance_no", "type": "text", "sensitive": True, "search_hash": True, "unique": True},
    ],
}


def crm(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def stored_key_ids(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            values = conn.execute(sa.text("SELECT insurance_no FROM rec_patient ORDER BY id")).scalars().all()
    finally:
        engine.dispose()
    return [str(v).split(":")[1] for v in values]


def test_generate_key_prints_a_256_bit_key(crm_env: dict[str, str]) -> None:
    plain, named = crm("generate-key"), crm("generate-key", "--id", "k7")
    assert plain.exit_code == 0 and len(base64.b64decode(plain.output.strip())) == 32
    kid, _, key = named.output.strip().partition(":")
    assert kid == "k7" and len(base64.b64decode(key)) == 32
    assert plain.output != crm("generate-key").output


def test_rotate_key_rewrites_values_and_the_old_key_can_go(
    crm_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app()
    svc = app.extensions["crm"]
    svc.metadata.replace_draft(Bundle.from_json({"entity": {"patient": dict(PATIENT)}}), "tester")
    svc.metadata.publish("tester")
    for n in range(5):
        svc.runtime().create("patient", {"name": f"p{n}", "insurance_no": f"INS-{n}"})
    svc.engine.dispose()
    db_url = crm_env["CRM_DATABASE_URL"]
    assert stored_key_ids(db_url) == ["test1"] * 5

    old = TEST_ENCRYPTION["CRM_ENCRYPTION_KEYS"]
    new = crm("generate-key", "--id", "test2").output.strip()
    monkeypatch.setenv("CRM_ENCRYPTION_KEYS", f"{new},{old}")
    result = crm("rotate-key", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "5 value(s) re-encrypted under key 'test2'" in result.output
    assert "rec_patient.insurance_no: 5 re-encrypted, 5 under key 'test2'" in result.output
    assert stored_key_ids(db_url) == ["test2"] * 5
    again = crm("rotate-key")
    assert "0 value(s) re-encrypted" in again.output

    monkeypatch.setenv("CRM_ENCRYPTION_KEYS", new)
    rotated = create_app()
    runtime = rotated.extensions["crm"].runtime()
    assert [runtime.get("patient", n + 1)["insurance_no"] for n in range(5)] == [f"INS-{n}" for n in range(5)]
    rotated.extensions["crm"].engine.dispose()

    monkeypatch.setenv("CRM_ENCRYPTION_KEYS", old)  # the new key is gone: values cannot be read
    stale = create_app()
    with pytest.raises((ValueError, CrmError), match="test2"):
        stale.extensions["crm"].runtime().get("patient", 1)
    stale.extensions["crm"].engine.dispose()


def test_rotate_key_without_keys_is_a_clear_error(
    crm_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_ENCRYPTION", "off")
    result = crm("rotate-key")
    assert result.exit_code == 1
    assert "no keys are configured" in result.output
