"""How an index names its files: paths relative to the library root, '/'-separated (shared by
the local index and the PostgreSQL store)."""

from __future__ import annotations

import os
from pathlib import Path


def under_root(path: str | os.PathLike, root: str | None) -> str | None:
    """``path`` relative to ``root`` as an index names it, or None if it lies outside (the
    path as given, then with links resolved on both sides)."""
    if not root:
        return None
    path = os.path.expanduser(path)
    for p, r in ((os.path.abspath(path), root),
                 (os.path.realpath(path), os.path.realpath(root))):
        try:
            return Path(p).relative_to(r).as_posix()
        except ValueError:
            continue
    return None


def in_root(rel: str, root: str | None) -> str:
    """The file an index-relative path names (the path itself without a root)."""
    return str(Path(root) / rel) if root else rel
