"""Packs as zip files: safe unpacking of an upload, and zipping an exported folder."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

from industry_templates.installer import PackInvalid
from metamodel.errors import Problem

MAX_FILES = 5000
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


def unpack_zip(data: bytes, into: Path) -> Path:
    """Unpack a pack zip into ``into`` and return the pack folder (the root or its only sub-folder)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise PackInvalid(
            "the upload is not a zip file", [Problem("file", "expected a .zip of a pack folder", "format")]
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_FILES or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise PackInvalid(
                "the zip is too large",
                [
                    Problem(
                        "file",
                        f"at most {MAX_FILES} files and {MAX_UNPACKED_BYTES // 2**20} MB unpacked",
                        "too_large",
                    )
                ],
            )
        for member in members:
            path = PurePosixPath(member.filename)
            # No absolute paths, no '..', no links: nothing may land outside the folder.
            if (
                path.is_absolute()
                or ".." in path.parts
                or "\\" in member.filename
                or (member.external_attr >> 16) & 0o170000 == 0o120000
            ):
                raise PackInvalid(
                    "the zip holds an unsafe path",
                    [Problem("file", f"'{member.filename[:100]}' is not allowed", "unsafe_path")],
                )
        into.mkdir(parents=True, exist_ok=True)
        archive.extractall(into)
    if (into / "pack.json").is_file():
        return into
    subfolders = [p for p in into.iterdir() if p.is_dir() and not p.name.startswith(("__", "."))]
    if len(subfolders) == 1 and (subfolders[0] / "pack.json").is_file():
        return subfolders[0]
    raise PackInvalid(
        "the zip holds no pack",
        [Problem("pack.json", "expected pack.json at the top of the zip or in its only folder", "file")],
    )


def zip_folder(folder: Path) -> bytes:
    """Return a zip of every file below ``folder`` (paths relative to it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()
