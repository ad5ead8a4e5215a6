"""Small helpers for files on disk shared across packages (the library index, dataset builds)."""

from __future__ import annotations

import hashlib
import os

_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's contents, read in 1 MiB chunks so large files never sit whole
    in memory."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()
