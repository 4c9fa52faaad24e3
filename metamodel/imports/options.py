"""What an import does: the column mapping, the mode, the key fields, duplicates and the admin switches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from metamodel.errors import Problem, RecordInvalid
from metamodel.imports.mapping import Target
from metamodel.model import EntityModel

MODES = ("insert", "update", "upsert")
DUPLICATES = ("skip", "update", "merge")
_KEY_TYPES = {"text", "email", "phone", "integer", "select", "url", "date"}


@dataclass
class ImportOptions:
    """The choices of one import, stored with its job as JSON."""

    mapping: dict[str, str | None] = field(default_factory=dict)  # column header -> target name
    mode: str = "insert"  # insert | update (by key) | upsert
    key_fields: list[str] = field(default_factory=list)  # match rows to each other and to stored records
    duplicates: str = "skip"  # a row whose key was seen or is stored: skip | update | merge (fill blanks)
    parent_key: str | None = None  # a column: rows sharing its value are one record with child lines
    link_keys: dict[str, str] = field(default_factory=dict)  # link field -> target field (default: title)
    skip_triggers: bool = False  # admin only, audited: for a migration

    def as_dict(self) -> dict[str, Any]:
        """Return the options as JSON-ready data."""
        return asdict(self)


def parse_options(
    raw: Mapping[str, Any], model: EntityModel, available: list[Target], headers: list[str]
) -> ImportOptions:
    """Check options sent by a client; RecordInvalid naming each wrong one."""
    problems: list[Problem] = []
    names = {t.name for t in available}
    mapping_raw = raw.get("mapping") or {}
    if not isinstance(mapping_raw, Mapping):
        raise RecordInvalid(
            "the import options are not valid", [Problem("mapping", "must be an object", "type")]
        )
    mapping: dict[str, str | None] = {}
    for header in headers:
        target = mapping_raw.get(header)
        if target in (None, ""):
            mapping[header] = None
        elif target not in names:
            problems.append(
                Problem(f"mapping.{header}", f"'{target}' is not a field of {model.name}", "choice")
            )
        elif target in mapping.values():
            problems.append(Problem(f"mapping.{header}", f"'{target}' is mapped twice", "unique"))
        else:
            mapping[header] = str(target)
    options = ImportOptions(
        mapping=mapping,
        mode=str(raw.get("mode") or "insert"),
        key_fields=[str(k) for k in raw.get("key_fields") or []],
        duplicates=str(raw.get("duplicates") or "skip"),
        parent_key=str(raw["parent_key"]) if raw.get("parent_key") else None,
        link_keys={str(k): str(v) for k, v in dict(raw.get("link_keys") or {}).items()},
        skip_triggers=bool(raw.get("skip_triggers")),
    )
    problems += _check(options, model, headers)
    if not any(mapping.values()):
        problems.append(Problem("mapping", "map at least one column to a field", "required"))
    if problems:
        raise RecordInvalid("the import options are not valid", problems)
    return options


def _check(options: ImportOptions, model: EntityModel, headers: list[str]) -> list[Problem]:
    problems = []
    if options.mode not in MODES:
        problems.append(Problem("mode", f"must be one of {', '.join(MODES)}", "choice"))
    if options.duplicates not in DUPLICATES:
        problems.append(Problem("duplicates", f"must be one of {', '.join(DUPLICATES)}", "choice"))
    mapped = set(options.mapping.values())
    for key in options.key_fields:
        f = model.fields.get(key)
        if f is None or f.type not in _KEY_TYPES:
            problems.append(Problem("key_fields", f"'{key}' cannot be a key field", "choice"))
        elif key not in mapped:
            problems.append(Problem("key_fields", f"map a column to the key field '{key}'", "required"))
    if options.mode != "insert" and not options.key_fields:
        problems.append(
            Problem(
                "key_fields", f"choose the key fields that find the records to {options.mode}", "required"
            )
        )
    if options.parent_key is not None and options.parent_key not in headers:
        problems.append(
            Problem("parent_key", f"'{options.parent_key}' is not a column of the file", "choice")
        )
    for name in options.link_keys:
        f = model.fields.get(name)
        if f is None or f.type != "link":
            problems.append(Problem(f"link_keys.{name}", f"'{name}' is not a link field", "choice"))
    return problems


def load_options(stored: Mapping[str, Any]) -> ImportOptions:
    """Return options stored with a job (already checked)."""
    known = {k: v for k, v in stored.items() if k in ImportOptions.__dataclass_fields__}
    return ImportOptions(**known)
