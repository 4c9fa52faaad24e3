"""Metadata as files: one pretty-printed JSON document per file, DIR/<kind>/<name>.json, plus a manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metamodel.definitions import DOCUMENT_KINDS, Bundle
from metamodel.errors import CrmError

MANIFEST = "manifest.json"
FORMAT = "lowcode-crm-metadata"
FORMAT_VERSION = 1
# Keys a reader looks for first, then the rest alphabetically, then the long lists: files diff cleanly.
_LEADING_KEYS = ("name", "id", "type", "entity", "label", "label_plural", "description")
_TRAILING_KEYS = ("fields", "tabs", "states", "transitions", "actions")


class MetaFileError(CrmError):
    """A metadata file or folder cannot be read or written."""

    code = "metadata_file_invalid"


def ordered(value: Any) -> Any:
    """Return ``value`` with every dict's keys in a stable order: leading, alphabetical, trailing."""
    if isinstance(value, dict):
        keys = [k for k in _LEADING_KEYS if k in value]
        keys += sorted(k for k in value if k not in _LEADING_KEYS and k not in _TRAILING_KEYS)
        keys += [k for k in _TRAILING_KEYS if k in value]
        return {k: ordered(value[k]) for k in keys}
    if isinstance(value, list):
        return [ordered(item) for item in value]
    return value


def dump_json(value: Any) -> str:
    """Return the file text of a document: indented UTF-8 JSON in stable key order, ending in a newline."""
    return json.dumps(ordered(value), indent=2, ensure_ascii=False) + "\n"


def read_bundle(folder: Path) -> Bundle:
    """Read DIR/<kind>/<name>.json into a bundle; errors name the file that is wrong."""
    if not folder.is_dir():
        raise MetaFileError(f"{folder}: no such folder")
    bundle = Bundle()
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(sub.glob("*.json"))
        if sub.name not in DOCUMENT_KINDS:
            if files:
                kinds = ", ".join(DOCUMENT_KINDS)
                raise MetaFileError(f"{sub}: unknown document kind '{sub.name}'; folders are named {kinds}")
            continue
        for path in files:
            bundle.documents[sub.name][path.stem] = _read_document(path)
    if not any(bundle.documents.values()):
        raise MetaFileError(
            f"{folder}: no metadata documents found (expected {folder}/entity/<name>.json, ...)"
        )
    return bundle


def _read_document(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise MetaFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise MetaFileError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except OSError as exc:
        raise MetaFileError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(doc, dict):
        raise MetaFileError(f"{path}: a metadata document must be a JSON object, not {type(doc).__name__}")
    name = doc.setdefault("name", path.stem)
    if name != path.stem:
        raise MetaFileError(
            f"{path}: the document is named '{name}' but the file is {path.stem}.json; make them equal"
        )
    return doc


def write_bundle(folder: Path, bundle: Bundle, manifest: dict[str, Any]) -> tuple[int, list[Path]]:
    """Write every document and the manifest; returns (files written, stale document files removed)."""
    if folder.exists() and not folder.is_dir():
        raise MetaFileError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MANIFEST).exists():
        # Only a previous export is overwritten: stale files are deleted, which must not hit other files.
        raise MetaFileError(
            f"{folder}: not empty and not a previous export (no {MANIFEST}); choose an empty folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    removed: list[Path] = []
    for kind in DOCUMENT_KINDS:
        docs = bundle.docs(kind)
        sub = folder / kind
        if docs:
            sub.mkdir(parents=True, exist_ok=True)
        for name, doc in sorted(docs.items()):
            (sub / f"{name}.json").write_text(dump_json(doc), "utf-8")
            written += 1
        if sub.is_dir():
            for stale in sorted(sub.glob("*.json")):
                if stale.stem not in docs:
                    stale.unlink()
                    removed.append(stale)
    body = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest}
    body["documents"] = {kind: sorted(bundle.docs(kind)) for kind in DOCUMENT_KINDS}
    (folder / MANIFEST).write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return written, removed
