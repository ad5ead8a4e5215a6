"""On-disk storage of a library index: SQLite metadata + an append-only float32 matrix.

Crash safety rests on one invariant: SQLite never references a matrix row that is not durably
on disk. Rows are appended to ``embeddings.f32`` and fsynced *before* the SQLite transaction
that references them (and raises ``n_rows``) commits. A crash in between leaves only an
unreferenced tail, which the next writer truncates and every reader ignores (readers map just
the first ``n_rows`` rows). Deleted entries leave free rows; compaction writes the live rows to
``embeddings.f32.compact`` (fsynced), renumbers rows in SQLite with ``pending_compact=1`` in the
same transaction, then renames the file over the matrix; recovery rolls a pending rename forward.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clamp_core.errors import ClampError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DB_NAME, MATRIX_NAME, INFO_NAME, LOCK_NAME = ("index.sqlite", "embeddings.f32", "index.json",
                                             "index.lock")
COMPACT_NAME = MATRIX_NAME + ".compact"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files(
    id TEXT PRIMARY KEY,        -- path, plus '#X' for each tune of a multi-tune ABC file
    path TEXT NOT NULL,         -- relative to the library root, '/'-separated
    tune INTEGER,               -- X: number of the tune in a multi-tune ABC file
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    title TEXT,
    composer TEXT,
    meta TEXT,                  -- JSON of ScoreMeta.to_dict()
    row INTEGER UNIQUE,         -- row in embeddings.f32; NULL when failed
    model TEXT NOT NULL         -- fingerprint of the model that encoded the row
);
CREATE INDEX IF NOT EXISTS files_path ON files(path);
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class Entry:
    """One row to write: a tune (or a whole score) of one file, read or failed."""

    id: str
    path: str
    tune: int | None
    sha256: str
    size: int
    mtime_ns: int
    status: str
    error: str | None = None
    title: str | None = None
    composer: str | None = None
    meta: dict | None = None


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _crash_point(name: str) -> None:
    """Test hook: CLAMP_INDEX_CRASH_AT=name kills this process here, as a power cut would."""
    if os.environ.get("CLAMP_INDEX_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


class Store:
    """SQLite + matrix of one index folder. Writers hold ``index.lock`` (one at a time)."""

    def __init__(self, folder: Path, dim: int, write: bool):
        self.folder, self.dim, self.write = folder, dim, write
        self.row_bytes = 4 * dim
        self._lock_fd: int | None = None
        if write:
            self._lock()
        self.db = sqlite3.connect(folder / DB_NAME, timeout=30, isolation_level=None)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            self.db.executescript(_SCHEMA)  # also for readers of an index nothing was written to
        except sqlite3.OperationalError:
            if write:
                raise
        self.db.execute("PRAGMA synchronous=FULL")
        if write:
            self.recover()

    # -- locking and recovery ---------------------------------------------------------------
    def _lock(self) -> None:
        path = self.folder / LOCK_NAME
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl

            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # Windows: no advisory locks; one writer is the user's job
            pass
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise ClampError(f"{self.folder}: another `clamp index` is updating this index; "
                             "wait for it to finish") from None

    def close(self) -> None:
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def recover(self) -> None:
        """Bring disk to the last committed state: finish a pending compaction, cut the tail."""
        matrix, compact = self.folder / MATRIX_NAME, self.folder / COMPACT_NAME
        if self.get("pending_compact", "0") == "1":
            if compact.exists():
                os.replace(compact, matrix)  # the compacted file was fsynced before the commit
                _fsync_dir(self.folder)
            self.set_state({"pending_compact": "0"})
        elif compact.exists():
            compact.unlink()  # a compaction that never committed
        n_rows = self.n_rows()
        if not matrix.exists():
            matrix.touch()
        have = matrix.stat().st_size // self.row_bytes
        if have < n_rows:
            # only possible if files were damaged or copied by hand: forget the missing rows so
            # the next update re-encodes those files, instead of serving garbage
            log.warning("%s: matrix has %d rows, SQLite references %d; re-encoding the rest",
                        self.folder, have, n_rows)
            with self.tx():
                self.db.execute("DELETE FROM files WHERE row >= ?", (have,))
                self._put("n_rows", have)
                self._bump("generation")
            n_rows = have
        if matrix.stat().st_size != n_rows * self.row_bytes:
            with open(matrix, "r+b") as f:
                f.truncate(n_rows * self.row_bytes)
                f.flush()
                os.fsync(f.fileno())

    # -- state --------------------------------------------------------------------------------
    def tx(self):
        return _Tx(self.db)

    def get(self, key: str, default: str | None = None) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        except sqlite3.OperationalError:  # no tables yet: an index nothing was written to
            return default
        return row[0] if row else default

    def n_rows(self) -> int:
        return int(self.get("n_rows", "0"))

    def generation(self) -> int:
        return int(self.get("generation", "0"))

    def _put(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)", (key, str(value)))

    def _bump(self, key: str) -> None:
        self._put(key, int(self.get(key, "0")) + 1)

    def set_state(self, values: dict) -> None:
        with self.tx():
            for k, v in values.items():
                self._put(k, v)

    # -- reads --------------------------------------------------------------------------------
    def files_on_record(self) -> dict[str, tuple[str, int, int]]:
        """path -> (sha256, size, mtime_ns) of every file the index knows."""
        q = "SELECT path, sha256, size, mtime_ns FROM files GROUP BY path"
        return {p: (s, z, m) for p, s, z, m in self.db.execute(q)}

    def live_rows(self) -> np.ndarray:
        rows = self.db.execute("SELECT row FROM files WHERE status='ok' ORDER BY row").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def matrix(self) -> np.ndarray:
        """Read-only memmap of the committed rows (an uncommitted tail is never seen).

        Reads SQLite and opens the file optimistically, retrying if a compaction renumbered the
        rows in between (``compact_epoch`` changes)."""
        for _ in range(5):
            self.db.execute("BEGIN")
            try:
                epoch, n, pending = (self.get("compact_epoch", "0"), self.n_rows(),
                                     self.get("pending_compact", "0"))
            finally:
                self.db.execute("COMMIT")
            paths = (([self.folder / COMPACT_NAME] if pending == "1" else [])
                     + [self.folder / MATRIX_NAME])
            for p in paths:
                try:
                    f = open(p, "rb")  # noqa: SIM115 - closed below, after the fallbacks
                    break
                except FileNotFoundError:
                    continue
            else:
                if n == 0:
                    return np.zeros((0, self.dim), np.float32)
                raise ClampError(f"{self.folder}: {MATRIX_NAME} is missing; rebuild the index")
            with f:
                if self.get("compact_epoch", "0") != epoch:
                    continue
                if n == 0:
                    return np.zeros((0, self.dim), np.float32)
                return np.memmap(f, dtype=np.float32, mode="r", shape=(n, self.dim))
        raise ClampError(f"{self.folder}: the index keeps changing under this search; try again")

    # -- writes -------------------------------------------------------------------------------
    def commit(self, entries: Sequence[Entry], vectors: np.ndarray, model: str,
               replace_paths: Iterable[str]) -> None:
        """Append the ok entries' vectors (fsync), then in one transaction drop the old entries of
        ``replace_paths`` and insert ``entries``; ok entries take rows in order."""
        ok = [e for e in entries if e.status == "ok"]
        assert len(ok) == len(vectors), (len(ok), len(vectors))
        n0 = self.n_rows()
        if len(ok):
            data = np.ascontiguousarray(vectors, dtype="<f4").tobytes()
            with open(self.folder / MATRIX_NAME, "r+b") as f:
                f.seek(n0 * self.row_bytes)
                half = (len(data) // 2) // 4 * 4 + 2  # a torn row, for the crash tests
                f.write(data[:half])
                f.flush()
                _crash_point("mid_write")
                f.write(data[half:])
                f.flush()
                os.fsync(f.fileno())
        _crash_point("after_matrix_fsync")
        rows = iter(range(n0, n0 + len(ok)))
        with self.tx():
            self.db.executemany("DELETE FROM files WHERE path=?",
                                [(p,) for p in set(replace_paths)])
            self.db.executemany(
                "INSERT INTO files(id, path, tune, sha256, size, mtime_ns, status, error, title, "
                "composer, meta, row, model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(e.id, e.path, e.tune, e.sha256, e.size, e.mtime_ns, e.status, e.error, e.title,
                  e.composer, json.dumps(e.meta, ensure_ascii=False) if e.meta else None,
                  next(rows) if e.status == "ok" else None, model) for e in entries])
            self._put("n_rows", n0 + len(ok))
            self._bump("generation")
        _crash_point("after_commit")

    def remove_paths(self, paths: Iterable[str]) -> None:
        """Forget files (their rows become free until the next compaction)."""
        with self.tx():
            self.db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in paths])
            self._bump("generation")

    def touch(self, updates: Sequence[tuple[str, int, int]]) -> None:
        """Record new (size, mtime) of files whose contents did not change."""
        with self.tx():
            self.db.executemany("UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                                [(z, m, p) for p, z, m in updates])

    def free_rows(self) -> int:
        live = self.db.execute("SELECT COUNT(*) FROM files WHERE status='ok'").fetchone()[0]
        return self.n_rows() - live

    def compact(self) -> None:
        """Rewrite the matrix without free rows (temp file + fsync, renumber, atomic rename)."""
        live = self.live_rows()
        if len(live) == self.n_rows():
            return
        old = self.matrix()
        tmp = self.folder / COMPACT_NAME
        with open(tmp, "wb") as f:
            f.writelines(np.ascontiguousarray(old[live[start:start + 65536]], dtype="<f4").tobytes()
                         for start in range(0, len(live), 65536))
            f.flush()
            os.fsync(f.fileno())
        del old
        _fsync_dir(self.folder)
        _crash_point("after_compact_write")
        with self.tx():
            # ascending order: each new row number is <= its old one, so UNIQUE never trips
            self.db.executemany("UPDATE files SET row=? WHERE row=?",
                                [(i, int(r)) for i, r in enumerate(live)])
            self._put("n_rows", len(live))
            self._put("pending_compact", 1)
            self._bump("compact_epoch")
            self._bump("generation")
        _crash_point("after_compact_commit")
        os.replace(tmp, self.folder / MATRIX_NAME)
        _fsync_dir(self.folder)
        self.set_state({"pending_compact": "0"})


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on an exception."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
