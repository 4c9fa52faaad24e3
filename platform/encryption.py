"""Encryption settings of a site: the keyring from configuration, the local key file and the policy.

Keys come from ``CRM_ENCRYPTION_KEYS`` / ``CRM_SEARCH_HASH_KEY``. A local SQLite site without them
(development, the demo) gets keys generated once into ``<instance>/encryption_keys`` (mode 600);
any other database needs them configured, so that every worker and host shares the same keys.
Without keys, sensitive fields are refused at publish and a site that has them refuses to start,
unless ``CRM_ENCRYPTION=off`` explicitly stores sensitive values unencrypted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from metamodel.crypto.keyring import Keyring, KeyringError, generate_key
from metamodel.crypto.rotation import pending_encryption
from metamodel.crypto.sealing import Sealing
from metamodel.definitions import Bundle
from metamodel.errors import CrmError, Problem
from metamodel.versions import MetadataService

KEY_FILE = "encryption_keys"
LOCAL_KEY_ID = "local1"
_HINT = (
    "set CRM_ENCRYPTION_KEYS (make a key with `crm generate-key`), or CRM_ENCRYPTION=off to store "
    "sensitive values unencrypted"
)


class EncryptionNotConfigured(CrmError):
    """Sensitive fields exist (or are being published) but no usable encryption keys are configured."""

    code = "encryption_not_configured"
    status = 503


@dataclass(frozen=True)
class EncryptionSettings:
    """The sealing handed to the metadata service plus where its keys came from."""

    sealing: Sealing
    source: str  # configured | local-file | off | missing

    def check_bundle(self, bundle: Bundle) -> list[Problem]:
        """Refuse sensitive fields while no keys are configured (and encryption was not switched off)."""
        if self.source != "missing":
            return []
        return [
            Problem(
                f"entity.{entity.name}.fields[{index}].sensitive",
                f"{entity.name}.{field.name} is sensitive but no encryption keys are configured; {_HINT}",
                "encryption",
            )
            for entity in bundle.entities()
            for index, field in enumerate(entity.fields)
            if field.get("sensitive")
        ]

    def check_start(self, bundle: Bundle) -> None:
        """Refuse to start a site whose published metadata has sensitive fields but no keys."""
        problems = self.check_bundle(bundle)
        if problems:
            raise EncryptionNotConfigured(
                f"the published metadata has {len(problems)} sensitive field(s) but no encryption keys are "
                f"configured; {_HINT}",
                problems,
            )


def prepare_encryption(metadata: MetadataService, settings: EncryptionSettings) -> list[str]:
    """Refuse to start without needed keys; encrypt (or decrypt) stored values the setting changed."""
    with metadata.engine.connect() as conn:
        bundle = metadata.bundle_of(metadata.active_version() or 0) if metadata.active_version() else Bundle()
        settings.check_start(bundle)
        pending = pending_encryption(conn, bundle, metadata.registry, settings.sealing)
    # Each start re-checks, and the sync is idempotent, so workers starting together are harmless.
    return metadata.resync() if pending else []


def load_encryption(config: Mapping[str, Any]) -> EncryptionSettings:
    """Return the encryption settings of ``config``; EncryptionNotConfigured when a key is malformed."""
    if str(config.get("CRM_ENCRYPTION") or "on").strip().lower() in ("off", "0", "false", "no"):
        return EncryptionSettings(Sealing(None), "off")
    keys = str(config.get("CRM_ENCRYPTION_KEYS") or "").strip()
    search = str(config.get("CRM_SEARCH_HASH_KEY") or "").strip() or None
    source = "configured"
    if not keys:
        local = _local_keys(
            Path(str(config["CRM_INSTANCE_DIR"])), _is_sqlite(str(config["CRM_DATABASE_URL"]))
        )
        if local is None:
            return EncryptionSettings(Sealing(None), "missing")
        keys, search, source = local[0], search or local[1], "local-file"
    try:
        return EncryptionSettings(Sealing(Keyring.parse(keys, search)), source)
    except KeyringError as exc:
        raise EncryptionNotConfigured(str(exc)) from None


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _local_keys(instance: Path, create: bool) -> tuple[str, str] | None:
    """Return (keys, search key) from the instance folder, generating them for a local SQLite site."""
    path = instance / KEY_FILE
    if path.exists():
        values = dict(
            line.split("=", 1)
            for line in path.read_text("utf-8").splitlines()
            if "=" in line and not line.startswith("#")
        )
        keys = values.get("CRM_ENCRYPTION_KEYS", "").strip()
        return (keys, values.get("CRM_SEARCH_HASH_KEY", "").strip()) if keys else None
    if not create:
        return None
    keys, search = f"{LOCAL_KEY_ID}:{generate_key()}", generate_key()
    instance.mkdir(parents=True, exist_ok=True)
    # Created with mode 600 from the start, so the keys are never readable by others.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this site got there first
        return _local_keys(instance, create=False)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            "# Encryption keys of this local site, generated by crm_platform.encryption. Losing this file\n"
            "# loses every sensitive value; back it up with the database.\n"
            f"CRM_ENCRYPTION_KEYS={keys}\nCRM_SEARCH_HASH_KEY={search}\n"
        )
    return keys, search
