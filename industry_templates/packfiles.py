"""Reading a pack folder (FORMAT.md) into a ``Pack``, collecting every problem with its file and path."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from metamodel.definitions import DOCUMENT_KINDS, Bundle
from metamodel.documents import check_document, format_path
from metamodel.errors import Problem

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
LOCALES = ("en", "zh-CN")
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class Pack:
    """A pack as read from its folder: manifest, metadata bundle, roles, translations and sample data."""

    path: Path
    manifest: dict[str, Any]
    bundle: Bundle = field(default_factory=Bundle)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    records: dict[str, Any] | None = None
    org: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The pack's name from its manifest."""
        return str(self.manifest["name"])

    @property
    def version(self) -> str:
        """The pack's version from its manifest."""
        return str(self.manifest["version"])

    def depends(self, kind: str) -> dict[str, str]:
        """Return the pack's requirements of one kind ('packs' or 'plugins'): name -> specifier."""
        return dict((self.manifest.get("depends") or {}).get(kind) or {})

    def documents(self) -> dict[str, Any]:
        """Return what is stored as installed (the base of a later 3-way upgrade)."""
        return {
            "metadata": self.bundle.to_json(),
            "roles": copy.deepcopy(self.roles),
            "translations": copy.deepcopy(self.translations),
        }


@cache
def pack_schema(name: str) -> dict[str, Any]:
    """Return one of the pack JSON Schemas (pack, role, translations, records, org)."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text("utf-8"))
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(pack_schema(name))


def check_schema(name: str, value: Any, prefix: str) -> list[Problem]:
    """Validate ``value`` against a pack schema; each problem names its file and JSON path."""
    errors = sorted(_validator(name).iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    return [Problem(format_path(prefix, e.absolute_path), _short(e.message), "schema") for e in errors]


def _short(message: str) -> str:
    message = message.replace("Additional properties are not allowed", "unknown key")
    return message if len(message) <= 300 else message[:297] + "..."


def load_json(path: Path, rel: str, problems: list[Problem]) -> Any:
    """Return the parsed file, or None after adding a problem naming the file."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(Problem(rel, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", "too_large"))
            return None
        return json.loads(path.read_text("utf-8-sig"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(rel, f"not UTF-8 text ({exc.reason} at byte {exc.start})", "file"))
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(rel, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", "file")
        )
    except OSError as exc:
        problems.append(Problem(rel, f"cannot read: {exc.strerror}", "file"))
    return None


def read_pack(folder: Path) -> tuple[Pack | None, list[Problem]]:
    """Read and structurally check a pack folder; the pack is None when its manifest is unusable."""
    problems: list[Problem] = []
    folder = Path(folder)
    if not (folder / "pack.json").is_file():
        return None, [Problem("pack.json", f"{folder} is not a pack folder (no pack.json)", "file")]
    manifest = load_json(folder / "pack.json", "pack.json", problems)
    if manifest is None:
        return None, problems
    found = check_schema("pack", manifest, "pack.json")
    if found:
        return None, problems + found
    pack = Pack(folder, manifest)
    _read_metadata(pack, problems)
    _read_roles(pack, problems)
    _read_translations(pack, problems)
    for name in ("records", "org"):
        path = folder / "sample_data" / f"{name}.json"
        if path.is_file():
            rel = f"sample_data/{name}.json"
            data = load_json(path, rel, problems)
            if data is not None:
                schema_problems = check_schema(name, data, rel)
                problems += schema_problems
                if not schema_problems:
                    setattr(pack, name, data)
    return pack, problems


def _read_metadata(pack: Pack, problems: list[Problem]) -> None:
    base = pack.path / "metadata"
    if not base.is_dir():
        problems.append(
            Problem("metadata", "the pack has no metadata folder (metadata/entity/<name>.json, ...)", "file")
        )
        return
    for sub in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if sub.name not in DOCUMENT_KINDS:
            problems.append(
                Problem(
                    f"metadata/{sub.name}", f"unknown document kind; use {', '.join(DOCUMENT_KINDS)}", "file"
                )
            )
            continue
        for path in sorted(sub.glob("*.json")):
            rel = f"metadata/{sub.name}/{path.name}"
            doc = load_json(path, rel, problems)
            if doc is None:
                continue
            if not isinstance(doc, dict):
                problems.append(Problem(rel, "a metadata document must be a JSON object", "file"))
                continue
            doc.setdefault("name", path.stem)
            if doc["name"] != path.stem:
                problems.append(
                    Problem(rel, f"the document is named '{doc['name']}' but the file is {path.name}", "name")
                )
                continue
            found = check_document(sub.name, doc, f"{sub.name}.{path.stem}")
            problems += found
            if not found:
                pack.bundle.documents[sub.name][path.stem] = doc
    if not any(pack.bundle.documents.values()) and not problems:
        problems.append(Problem("metadata", "the pack has no metadata documents", "file"))


def _read_roles(pack: Pack, problems: list[Problem]) -> None:
    base = pack.path / "roles"
    for path in sorted(base.glob("*.json")) if base.is_dir() else []:
        rel = f"roles/{path.name}"
        role = load_json(path, rel, problems)
        if role is None:
            continue
        found = check_schema("role", role, rel)
        if not found and role["name"] != path.stem:
            found.append(Problem(f"{rel}.name", f"must equal the file name '{path.stem}'", "name"))
        problems += found
        if not found:
            pack.roles[path.stem] = role


def _read_translations(pack: Pack, problems: list[Problem]) -> None:
    for locale in LOCALES:
        rel = f"translations/{locale}.json"
        path = pack.path / rel
        if not path.is_file():
            problems.append(
                Problem(rel, f"missing: every pack has translations in {' and '.join(LOCALES)}", "file")
            )
            continue
        strings = load_json(path, rel, problems)
        if strings is None:
            continue
        found = check_schema("translations", strings, rel)
        problems += found
        if not found:
            pack.translations[locale] = strings
    if len(pack.translations) == len(LOCALES):
        en, zh = (set(pack.translations[loc]) for loc in LOCALES)
        for key in sorted(en ^ zh):
            missing = "zh-CN" if key in en else "en"
            problems.append(
                Problem(
                    f"translations/{missing}.json.{key}",
                    "missing: both locales need the same keys",
                    "translation",
                )
            )
