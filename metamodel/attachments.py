"""Attachment storage: files on disk under a root folder, described by rows in sys_attachment."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, select

from metamodel.errors import NotFound
from metamodel.systables import attachments

_CHUNK = 64 * 1024


class TooLarge(ValueError):
    """The upload is larger than allowed."""


@dataclass(frozen=True)
class StoredFile:
    """An attachment's description."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, object]:
        """Return the JSON shape used by the API."""
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
        }


class AttachmentStore:
    """Saves uploads to disk with a random key and records them; never trusts the client's file name."""

    def __init__(self, engine: Engine, root: str | os.PathLike[str]) -> None:
        self.engine = engine
        self.root = Path(root)

    def save(
        self, stream: IO[bytes], filename: str, content_type: str, max_size: int, user_id: int | None
    ) -> StoredFile:
        """Copy ``stream`` to disk (refusing more than ``max_size`` bytes) and record it."""
        now = dt.datetime.now(dt.UTC)
        key = f"{now:%Y/%m}/{secrets.token_hex(16)}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        try:
            with open(path, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > max_size:
                        raise TooLarge(f"the file is larger than {max_size} bytes")
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        safe_name = os.path.basename(filename.replace("\\", "/"))[:255] or "file"
        row = {
            "filename": safe_name,
            "content_type": content_type[:100] or "application/octet-stream",
            "size": size,
            "sha256": digest.hexdigest(),
            "storage_key": key,
            "created_at": now,
            "created_by": user_id,
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(attachments.insert().values(row)).inserted_primary_key[0]  # type: ignore[index]
        return StoredFile(int(new_id), row["filename"], row["content_type"], size, row["sha256"])  # type: ignore[arg-type]

    def get(self, attachment_id: int) -> tuple[StoredFile, Path]:
        """Return an attachment's description and the path of its file."""
        with self.engine.connect() as conn:
            row = conn.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
        if row is None:
            raise NotFound(f"attachment {attachment_id} does not exist")
        stored = StoredFile(row.id, row.filename, row.content_type, row.size, row.sha256)
        return stored, self.root / row.storage_key
