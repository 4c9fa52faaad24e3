"""Publish-time checks of encrypted fields: what an encrypted column can and cannot do."""

from __future__ import annotations

from collections.abc import Iterator

from metamodel.crypto.sealing import Sealing, can_seal
from metamodel.definitions import Bundle
from metamodel.errors import Problem
from metamodel.fieldtypes.base import FieldTypeRegistry


def check_encryption(bundle: Bundle, registry: FieldTypeRegistry, sealing: Sealing) -> list[Problem]:
    """Return the problems of sensitive fields under this encryption setting (none when it is off)."""
    if not sealing.enabled:
        return []
    return [*_problems(bundle, registry, sealing), *_schedule_problems(bundle, registry, sealing)]


def _schedule_problems(bundle: Bundle, registry: FieldTypeRegistry, sealing: Sealing) -> Iterator[Problem]:
    """Workflow states and time triggers are found by SQL over their fields, which ciphertext cannot answer."""
    entities = {entity.name: entity for entity in bundle.entities()}

    def sealed(entity_name: object, field_name: object) -> bool:
        entity = entities.get(str(entity_name))
        definition = entity.field(str(field_name)) if entity is not None else None
        return (
            definition is not None
            and definition.type in registry
            and sealing.is_sealed(definition, registry.of(definition))
        )

    for name, doc in bundle.docs("workflow").items():
        if sealed(doc.get("entity"), doc.get("state_field")):
            yield Problem(
                f"workflow.{name}.state_field",
                "the state field of a workflow cannot be sensitive",
                "encryption",
            )
    for name, doc in bundle.docs("trigger").items():
        relative_to = (doc.get("schedule") or {}).get("relative_to")
        if relative_to and sealed(doc.get("entity"), relative_to):
            yield Problem(
                f"trigger.{name}.schedule.relative_to",
                f"a time trigger cannot be scheduled relative to the encrypted field '{relative_to}'",
                "encryption",
            )


def _problems(bundle: Bundle, registry: FieldTypeRegistry, sealing: Sealing) -> Iterator[Problem]:
    keyring = sealing.keyring
    for entity in bundle.entities():
        sealed: set[str] = set()
        for index, field in enumerate(entity.fields):
            path = f"entity.{entity.name}.fields[{index}]"
            if field.type not in registry:
                continue
            field_type = registry.of(field)
            if field.get("search_hash") and not field.get("sensitive"):
                yield Problem(
                    f"{path}.search_hash",
                    "only a sensitive (encrypted) field has a search hash",
                    "encryption",
                )
            if not field.get("sensitive") or not field_type.has_column:
                continue
            if not can_seal(field_type, field):
                yield Problem(
                    f"{path}.sensitive",
                    f'a {field.type} field cannot be stored encrypted; remove "sensitive"',
                    "encryption",
                )
                continue
            sealed.add(field.name)
            hashed = bool(field.get("search_hash"))
            if hashed and keyring is not None and not keyring.can_hash:
                yield Problem(
                    f"{path}.search_hash", "needs CRM_SEARCH_HASH_KEY to be configured", "encryption"
                )
            for flag in ("unique", "indexed", "searchable"):
                if field.get(flag) and not hashed:
                    yield Problem(
                        f"{path}.{flag}",
                        f'an encrypted field can only be {flag} through its search hash; add "search_hash": true',
                        "encryption",
                    )
        for position, spec in enumerate(entity.doc.get("indexes") or []):
            for name in spec.get("fields") or []:
                definition = entity.field(name)
                if name in sealed and definition is not None and not definition.get("search_hash"):
                    yield Problem(
                        f"entity.{entity.name}.indexes[{position}]",
                        f"index on encrypted field '{name}' needs \"search_hash\": true on that field",
                        "encryption",
                    )
