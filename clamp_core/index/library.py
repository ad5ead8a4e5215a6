"""The library index: a folder of scores embedded once, searched by text or by score.

One index = one folder: ``index.json`` (format, model, dim), ``index.sqlite`` (one row per
score or tune: path, sha256, status, error, metadata, matrix row) and ``embeddings.f32`` (the
unit-length float32 features, memory-mapped for search). Updates are incremental by content
hash and survive ``kill -9`` at any moment (see ``index_store`` for how).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clamp_core.errors import ClampError
from clamp_core.index.filters import matches_all, parse_conditions
from clamp_core.index.hits import Hit
from clamp_core.index.passages import (
    PASSAGES_DIR,
    PRINTS_FLAG,
    check_settings,
    distinct,
    passage_items,
    rank_by_notes,
)
from clamp_core.index.paths import in_root, under_root
from clamp_core.index.scan import FoundFile, file_state, parse_file, walk_scores
from clamp_core.index.search import AnnIndex, exact_topk, faiss_available
from clamp_core.index.store import (
    DB_NAME,
    FORMAT_VERSION,
    INFO_NAME,
    MATRIX_NAME,
    Entry,
    Store,
    write_json_atomic,
)
from clamp_core.index.workers import LazyModel, model_fingerprint, model_reference, watch_parent

log = logging.getLogger(__name__)

APPROX_THRESHOLD = 200_000  # rows above which search uses FAISS when it is installed
ANN_NAME = "ann.faiss"


@dataclass
class UpdateReport:
    root: str
    scanned: int = 0
    unchanged: int = 0
    parsed: int = 0          # files read this run (new or changed)
    added: int = 0           # entries (scores or tunes) encoded this run
    failed: int = 0          # entries that failed this run
    removed: int = 0         # files gone from the folder
    passages: int = 0        # passages encoded this run (an index built with passages)
    entries: int = 0         # ok entries in the index after the run
    failures_total: int = 0  # failed entries in the index after the run
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Index:
    """An index folder opened for search, or (``write=True``) for updates by one process."""

    def __init__(self, folder: str | os.PathLike, write: bool = False,
                 approx_threshold: int = APPROX_THRESHOLD):
        self.folder = Path(folder).expanduser()
        info_path = self.folder / INFO_NAME
        if not info_path.is_file():
            raise ClampError(f"{self.folder}: not a clamp index (no {INFO_NAME}); build one with "
                             f"`clamp index DIR --index {self.folder}`")
        self.info = json.loads(info_path.read_text(encoding="utf-8"))
        if self.info.get("format") != FORMAT_VERSION:
            raise ClampError(f"{self.folder}: index format {self.info.get('format')} is not "
                             f"{FORMAT_VERSION}; rebuild it with `clamp index` into a new folder")
        self.dim = int(self.info["dim"])
        self.approx_threshold = approx_threshold
        self.store = Store(self.folder, self.dim, write)
        self._cache: tuple[int, np.ndarray, np.ndarray] | None = None  # generation, matrix, live
        self._ann: tuple[int, AnnIndex] | None = None
        self._facts: tuple[int, list[tuple[int, dict]]] | None = None  # generation, (row, meta)
        self._passages: Index | None = None

    @staticmethod
    def open(target):
        """An index folder, or a PostgreSQL store's URL (index.pgstore), opened for search."""
        return as_index(target)

    @classmethod
    def create(cls, folder: str | os.PathLike, clamp, **kw) -> Index:
        """Open the index in ``folder`` for writing, creating it for ``clamp``'s model if new."""
        folder = Path(folder).expanduser()
        if folder.exists() and not folder.is_dir():
            raise ClampError(f"{folder}: --index must be a folder, and this is a file")
        if not (folder / INFO_NAME).is_file():
            if folder.is_dir() and any(folder.iterdir()):
                raise ClampError(f"{folder}: folder is not empty and holds no clamp index; "
                                 "pick a new folder for the index")
            folder.mkdir(parents=True, exist_ok=True)
            write_json_atomic(folder / INFO_NAME, {
                "format": FORMAT_VERSION, "model": model_reference(clamp),
                "model_name": str(clamp.name),
                "model_fingerprint": model_fingerprint(clamp), "dim": int(clamp.dim),
                "files": {"db": DB_NAME, "matrix": MATRIX_NAME}})
        idx = cls(folder, write=True, **kw)
        idx.check_model(clamp)
        return idx

    def close(self) -> None:
        self._cache = self._ann = self._facts = None
        if self._passages is not None:
            self._passages.close()
            self._passages = None
        self.store.close()

    def __enter__(self) -> Index:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- facts --------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        """The model folder this index was built with ('default' for the shipped model)."""
        return self.info["model"]

    @property
    def root(self) -> str | None:
        return self.store.get("root")

    def check_model(self, clamp) -> None:
        if model_fingerprint(clamp) != self.info["model_fingerprint"] or int(clamp.dim) != self.dim:
            if str(clamp.name) == str(self.model):  # same name, other weights: an upgrade
                raise ClampError(
                    f"{self.folder}: this index was built with an earlier version of model "
                    f"{self.model} (its weights changed, e.g. with a clamp-notation upgrade); "
                    "build a new index into another folder (or delete this one) and index again")
            raise ClampError(f"{self.folder}: this index was built with model {self.model}, not "
                             f"{clamp.name}; search it with that model (the default) or build a "
                             "new index with this one")

    # -- passages -----------------------------------------------------------------------------
    @property
    def passage_settings(self) -> dict | None:
        """{"width": bars per passage, "hop": bars between starts} when built with passages."""
        return self.info.get("passages")

    def passages(self) -> Index:
        """The index of passage rows (see index.passages)."""
        if not self.passage_settings:
            raise ClampError(f"{self.folder}: this index holds whole works only; add passages "
                             f"with `clamp index FOLDER --index {self.folder} --passages`")
        if self._passages is None:
            self._passages = Index(self.folder / PASSAGES_DIR, write=self.store.write,
                                   approx_threshold=self.approx_threshold)
        return self._passages

    def enable_passages(self, width: int, hop: int) -> None:
        """Keep passages of ``width`` bars every ``hop`` bars from the next update on (files
        already indexed are read again once, for their passages)."""
        check_settings(width, hop)
        wanted = {"width": int(width), "hop": int(hop)}
        have = self.passage_settings
        if have == wanted:
            return
        if have:
            raise ClampError(f"{self.folder}: this index keeps passages of {have['width']} bars "
                             f"every {have['hop']}; build a new index for other settings")
        if not self.store.write:
            raise ClampError("open the index with Index.create(...) to add passages")
        sub = self.folder / PASSAGES_DIR
        sub.mkdir(exist_ok=True)
        if not (sub / INFO_NAME).is_file():
            write_json_atomic(sub / INFO_NAME, {**self.info, "kind": "passages",
                                                PRINTS_FLAG: True})
        self.info = {**self.info, "passages": wanted}
        write_json_atomic(self.folder / INFO_NAME, self.info)

    def search_passages(self, query: np.ndarray, k: int = 10, where=None, skip=None,
                        prints: list[list[str]] | None = None) -> list[Hit]:
        """The k passages nearest a unit query vector, at most one per place in a work (a
        passage overlapping a better one of the same work is left out); ``skip(hit)`` drops
        hits (e.g. the query's own bars); ``prints``: a music query's bar fingerprints, which
        put passages holding its very notes first (``passages.rank_by_notes``)."""
        index = self.passages()
        want = max(4 * k, k + 16)
        while True:
            hits = index.search(query, want, where=where)
            kept = distinct(rank_by_notes(hits, prints), k, skip)
            if len(kept) == k or len(hits) < want or want >= len(index):
                return kept
            want *= 4

    def __len__(self) -> int:
        return self.store.db.execute("SELECT COUNT(*) FROM files WHERE status='ok'").fetchone()[0]

    def failures(self) -> list[dict]:
        q = "SELECT id, path, tune, error FROM files WHERE status='failed' ORDER BY id"
        return [{"id": i, "path": self._abs(p), "tune": t, "error": e}
                for i, p, t, e in self.store.db.execute(q)]

    def entries(self) -> list[dict]:
        q = "SELECT id, path, tune, sha256, status, title, composer, row FROM files ORDER BY id"
        cols = ("id", "path", "tune", "sha256", "status", "title", "composer", "row")
        return [dict(zip(cols, r, strict=True)) for r in self.store.db.execute(q)]

    def rows_with_vectors(self) -> Iterator[dict[str, Any]]:
        """Every ok entry with its facts and embedding (a copy), in id order: what a store
        copies (index.pgstore)."""
        m = self.store.matrix()
        q = ("SELECT id, path, tune, sha256, title, composer, meta, row FROM files "
             "WHERE status='ok' ORDER BY id")
        for i, p, t, sha, title, comp, meta, r in self.store.db.execute(q).fetchall():
            if r < len(m):
                yield {"id": i, "path": p, "tune": t, "sha256": sha, "title": title,
                       "composer": comp, "meta": json.loads(meta) if meta else {},
                       "vector": np.array(m[r])}

    def vectors(self) -> dict[str, np.ndarray]:
        """id -> embedding of every ok entry (copies; for checks and export)."""
        m = self.store.matrix()
        q = "SELECT id, row FROM files WHERE status='ok'"
        return {i: np.array(m[r]) for i, r in self.store.db.execute(q)}

    def _abs(self, rel: str) -> str:
        return in_root(rel, self.root)

    def rel_path(self, path: str | os.PathLike) -> str | None:
        """``path`` as this index names it, or None if it lies outside the library root."""
        return under_root(path, self.root)

    # -- update -------------------------------------------------------------------------------
    def update(self, root: str | os.PathLike, clamp, workers: int | None = None,
               batch_size: int = 64, progress: bool = True, compact_ratio: float = 0.25,
               ) -> UpdateReport:
        """Bring the index in line with the folder: read new and changed files (by sha256) in
        ``workers`` processes (0: in this one), drop deleted ones, encode in batches.

        ``clamp`` is a Clamp or a function returning one: a function is only called when there
        is something to encode (in a thread, while the workers read), so a no-op update of a
        big library costs a folder walk, not a model load."""
        if not self.store.write:
            raise ClampError("open the index with Index.create(...) to update it")
        model = LazyModel(clamp, self.check_model)
        t0 = time.perf_counter()
        root_path = Path(os.path.abspath(os.path.expanduser(root)))
        if not root_path.is_dir():
            raise ClampError(f"{root}: no such folder; pass the folder of scores to index")
        if self.root is None:
            self.store.set_state({"root": str(root_path)})
        elif self.root != str(root_path):
            raise ClampError(f"{self.folder}: this index covers {self.root}, not {root_path}; "
                             "use a new --index folder for another library")
        rep = UpdateReport(root=str(root_path))
        known = self.store.files_on_record()
        passages = self.passages() if self.passage_settings else None
        pknown = passages.store.files_on_record() if passages else {}
        # passages cut before they kept their bars' note fingerprints: cut once more
        recut = passages is not None and not passages.info.get(PRINTS_FLAG)
        if passages is not None and passages.root is None:
            passages.store.set_state({"root": str(root_path)})
        found: dict[str, FoundFile] = {}
        todo: list[tuple[FoundFile, str]] = []
        touched = []
        for ff in walk_scores(root_path, skip=self.folder):
            found[ff.rel] = ff
            state, sha = file_state(ff, known.get(ff.rel))
            if state == "same":
                if passages is not None and (recut or pknown.get(ff.rel, ("",))[0] != sha):
                    todo.append((ff, sha))  # indexed before passages were asked for: read again
            elif state == "touched":
                touched.append((ff.rel, ff.size, ff.mtime_ns))
            elif state == "changed":
                todo.append((ff, sha))
        rep.scanned = len(found)
        rep.unchanged = rep.scanned - len(todo)
        gone = [p for p in known if p not in found]
        if gone:
            self.store.remove_paths(gone)
        if touched:
            self.store.touch(touched)
        if passages is not None:
            passages.store.remove_paths([p for p in pknown if p not in found])
            if touched:
                passages.store.touch(touched)
        rep.removed = len(gone)
        if todo:
            model.start()
        fp = self.info["model_fingerprint"]
        pending: list[tuple[FoundFile, str, list[dict]]] = []

        def flush() -> None:
            items = [(ff, sha, it) for ff, sha, its in pending for it in its]
            vecs = self._encode(model.get(), [it for *_, it in items])  # may mark items failed
            paths = [ff.rel for ff, _, _ in pending]
            if passages is not None:  # first: a crash before the works' commit reads them again
                cuts = [(ff, sha, p) for ff, sha, it in items
                        for p in passage_items(it, **self.passage_settings)]
                pvecs = passages._encode(model.get(), [p for *_, p in cuts])
                passages.store.commit(_entries(cuts), pvecs, fp, paths)
                rep.passages += len(pvecs)
            entries = _entries(items)
            self.store.commit(entries, vecs, fp, paths)
            rep.added += len(vecs)
            rep.failed += sum(e.status != "ok" for e in entries)
            pending.clear()

        n_ok = 0
        for ff, sha, items in self._parse_all(todo, workers, progress):
            pending.append((ff, sha, items))
            rep.parsed += 1
            n_ok += sum(it["status"] == "ok" for it in items)
            if n_ok >= batch_size:
                flush()
                n_ok = 0
        if pending:
            flush()
        if recut:
            passages.info = {**passages.info, PRINTS_FLAG: True}
            write_json_atomic(passages.folder / INFO_NAME, passages.info)
        for store in [self.store] + ([passages.store] if passages is not None else []):
            if store.free_rows() > compact_ratio * max(1, store.n_rows()):
                store.compact()
        rep.entries = len(self)
        rep.failures_total = len(self.failures())
        rep.seconds = round(time.perf_counter() - t0, 3)
        return rep

    def _encode(self, clamp, items: list[dict]) -> np.ndarray:
        return encode_items(clamp, items, self.dim)

    def _parse_all(self, todo: list[tuple[FoundFile, str]], workers: int | None, progress: bool,
                   ) -> Iterator[tuple[FoundFile, str, list[dict]]]:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="indexing", unit="file", file=sys.stderr, leave=False,
                   disable=not progress or len(todo) < 2)
        workers = min(2, os.cpu_count() or 1) if workers is None else workers
        try:
            if workers <= 0 or len(todo) <= 1:
                for ff, sha in todo:
                    yield ff, sha, parse_file(ff.path, ff.rel)
                    bar.update()
                return
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # spawn: workers inherit neither torch's threads nor the index lock (fork would copy
            # both), and are our direct children, so they can notice when we die (see below)
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=watch_parent,
                                     initargs=(os.getpid(),)) as pool:
                futs = {pool.submit(parse_file, ff.path, ff.rel): (ff, sha) for ff, sha in todo}
                for fut in as_completed(futs):
                    ff, sha = futs[fut]
                    try:
                        items = fut.result()
                    except Exception as e:  # noqa: BLE001 - a worker that died (e.g. out of memory)
                        items = [{"id": ff.rel, "tune": None, "status": "failed",
                                  "error": f"{ff.rel}: reader process failed ({type(e).__name__})"}]
                    yield ff, sha, items
                    bar.update()
        finally:
            bar.close()

    def compact(self) -> None:
        """Rewrite the matrix without rows of deleted or changed files."""
        self.store.compact()
        if self.passage_settings:
            self.passages().store.compact()

    # -- search -------------------------------------------------------------------------------
    def _state(self) -> tuple[np.ndarray, np.ndarray, int]:
        gen = self.store.generation()
        if self._cache is None or self._cache[0] != gen:
            matrix = self.store.matrix()
            rows = self.store.live_rows()
            live = np.zeros(len(matrix), dtype=bool)
            live[rows[rows < len(matrix)]] = True
            self._cache = (gen, matrix, live)
        return self._cache[1], self._cache[2], gen

    def _ann_index(self, matrix: np.ndarray, live: np.ndarray, gen: int) -> AnnIndex:
        if self._ann and self._ann[0] == gen:
            return self._ann[1]
        path, meta_path = self.folder / ANN_NAME, self.folder / (ANN_NAME + ".json")
        try:
            stale = json.loads(meta_path.read_text())["generation"] != gen
        except (OSError, ValueError, KeyError):
            stale = True
        if stale:
            log.info("building the approximate index (%d rows)", int(live.sum()))
            ann = AnnIndex.build(matrix, np.flatnonzero(live))
            try:
                ann.save(path)
                write_json_atomic(meta_path, {"generation": gen, "kind": "ivf-flat"})
            except OSError as e:  # a read-only index still searches, it just rebuilds next time
                log.info("could not save the approximate index: %s", e)
        else:
            ann = AnnIndex.load(path)
        self._ann = (gen, ann)
        return ann

    def search(self, query: np.ndarray, k: int = 10, exclude_paths: set[str] | None = None,
               exact: bool | None = None, where=None) -> list[Hit]:
        """The k entries nearest a unit query vector (cosine), best first; entries of files in
        ``exclude_paths`` (index-relative paths) are left out. ``where``: filters on the stored
        facts ("composer=Bach", "metre=6/8", or {"composer": "Bach"}; see index.filters), searched
        exactly among the entries that pass. ``query`` [M, D]: several queries (one piece in
        several keys), each row scored by its best cosine to any of them (exactly)."""
        q = np.asarray(query, dtype=np.float32)
        q = q.reshape(-1) if q.ndim < 2 or len(q) == 1 else q
        if q.shape[-1] != self.dim:
            raise ClampError(f"query has {q.shape[-1]} dimensions, the index {self.dim}; "
                             "use the model the index was built with")
        conditions = parse_conditions(where)
        if k <= 0:
            return []
        matrix, live, gen = self._state()
        if conditions:
            live = live & self._rows_where(conditions, len(live), gen)
            exact = True  # the passing rows are scored directly; an ANN index holds them all
        if q.ndim == 2:
            exact = True  # the best of several queries per row: scored directly
        n_live = int(live.sum())
        use_ann = (n_live > self.approx_threshold) if exact is None else not exact
        if use_ann and not faiss_available():
            log.info("%d rows: install faiss-cpu for approximate search; searching exactly", n_live)
            use_ann = False
        excluded_rows = self._rows_of(exclude_paths) if exclude_paths else set()
        want = k + len(excluded_rows)
        if use_ann:
            rows, scores = self._ann_index(matrix, live, gen).search(q, want)
        else:
            rows, scores = exact_topk(matrix, q, want, live)
        keep = [(int(r), float(s)) for r, s in zip(rows, scores, strict=True)
                if int(r) not in excluded_rows][:k]
        return self._hits(keep)

    def _rows_where(self, conditions: list, n: int, gen: int) -> np.ndarray:
        """Mask of matrix rows whose stored facts pass every condition (facts parsed once per
        index generation)."""
        if self._facts is None or self._facts[0] != gen:
            q = "SELECT row, meta FROM files WHERE row IS NOT NULL AND status='ok'"
            self._facts = (gen, [(int(r), json.loads(m) if m else {})
                                 for r, m in self.store.db.execute(q)])
        mask = np.zeros(n, dtype=bool)
        for row, meta in self._facts[1]:
            if row < n and matches_all(conditions, meta):
                mask[row] = True
        return mask

    def _rows_of(self, paths: set[str]) -> set[int]:
        q = "SELECT row FROM files WHERE path=? AND row IS NOT NULL"
        return {r for p in paths for (r,) in self.store.db.execute(q, (p,))}

    def _hits(self, keep: list[tuple[int, float]]) -> list[Hit]:
        q = "SELECT id, path, tune, title, composer, meta FROM files WHERE row=?"
        hits = []
        for row, score in keep:
            rec = self.store.db.execute(q, (row,)).fetchone()
            if rec is None:  # changed under us since the matrix was mapped: skip it
                continue
            i, p, t, title, comp, meta = rec
            facts = json.loads(meta) if meta else {}
            bars = facts.get("passage", {}).get("bars")
            hits.append(Hit(len(hits) + 1, round(score, 6), self._abs(p), t, title, comp, i,
                            facts, bars=list(bars) if bars else None))
        return hits


def encode_items(clamp, items: list[dict], dim: int) -> np.ndarray:
    """Features of the ok items; if the batch fails, item by item, marking the ones that
    fail (a score the model cannot take must not stop a library build)."""
    ok = [it for it in items if it["status"] == "ok"]
    if not ok:
        return np.zeros((0, dim), np.float32)
    try:
        return clamp.encode_abc([it["abc"] for it in ok])
    except Exception as e:  # noqa: BLE001 - one bad score: find it, record it, go on
        if len(ok) > 1:
            return np.concatenate([encode_items(clamp, [it], dim) for it in ok])
        ok[0].update(status="failed", error=f"{ok[0]['id']}: the model cannot encode this "
                     f"score ({type(e).__name__}: {' '.join(str(e).split())})")
        return np.zeros((0, dim), np.float32)


def _entries(items: list[tuple[FoundFile, str, dict]]) -> list[Entry]:
    """Store rows of read items (ok or failed) of their files."""
    return [Entry(it["id"], ff.rel, it["tune"], sha, ff.size, ff.mtime_ns, it["status"],
                  it.get("error"), it.get("title"), it.get("composer"), it.get("meta"))
            for ff, sha, it in items]


def as_index(index: Index | str | os.PathLike):
    """An open index from an Index (or store), a folder path, or a PostgreSQL store URL
    (``postgresql://...``, see index.pgstore), opened for search."""
    from clamp_core.index.pgstore import PgIndex, is_store_url

    if isinstance(index, (Index, PgIndex)):
        return index
    if is_store_url(index):
        return PgIndex(str(index))
    return Index(index)


def build_index(folder: str | os.PathLike, index_path: str | os.PathLike, clamp,
                workers: int | None = None, **kw) -> UpdateReport:
    """Create or update the index at ``index_path`` from the scores under ``folder``."""
    with Index.create(index_path, clamp) as idx:
        return idx.update(folder, clamp, workers=workers, **kw)
