"""Top-k search over the embedding matrix: exact (numpy) and approximate (FAISS IVF)."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def exact_topk(matrix: np.ndarray, q: np.ndarray, k: int, live: np.ndarray | None = None,
               chunk: int = 262_144) -> tuple[np.ndarray, np.ndarray]:
    """Rows and cosine scores of the k best rows (unit vectors), best first. ``q`` [D], or
    [M, D] for several queries at once: a row then scores its best cosine to any of them.

    ``live`` is a boolean mask of rows that may be returned (free rows are not). The memmap is
    read in chunks so a 1M-row matrix never needs a second in-memory copy."""
    n = len(matrix)
    q = np.asarray(q, dtype=np.float32)
    scores = np.empty(n, dtype=np.float32)
    for s in range(0, n, chunk):
        if q.ndim == 2:
            scores[s:s + chunk] = (matrix[s:s + chunk] @ q.T).max(axis=1)
        else:
            np.matmul(matrix[s:s + chunk], q, out=scores[s:s + chunk])
    if live is not None:
        scores[~live] = -np.inf
        n = int(live.sum())
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top.astype(np.int64), scores[top]


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


class AnnIndex:
    """An IVF-Flat inner-product index over the live rows (ids = matrix row numbers)."""

    def __init__(self, index, nprobe: int | None = None):
        self.index = index
        if nprobe is not None:
            index.nprobe = nprobe

    @classmethod
    def build(cls, matrix: np.ndarray, rows: np.ndarray, nlist: int | None = None,
              nprobe: int | None = None, seed: int = 0) -> AnnIndex:
        import faiss

        n, d = len(rows), matrix.shape[1]
        # sqrt(n) lists keeps k-means training (on 50 points per list; FAISS wants >= 39) to
        # seconds even at 1M rows
        nlist = nlist or max(1, min(int(math.sqrt(n)), n // 39, 65536))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, size=min(n, 50 * nlist), replace=False))
        index.train(np.ascontiguousarray(matrix[rows[sample]], dtype=np.float32))
        for s in range(0, n, 131_072):
            part = rows[s:s + 131_072]
            index.add_with_ids(np.ascontiguousarray(matrix[part], dtype=np.float32), part)
        # nprobe = nlist/8: an eighth of the rows scanned; clustered (real) embeddings keep
        # most of their true neighbours in the probed lists (bench/search_latency.py measures)
        return cls(index, nprobe or max(1, nlist // 8))

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        d, i = self.index.search(np.asarray(q, np.float32).reshape(1, -1), k)
        keep = i[0] >= 0
        return i[0][keep].astype(np.int64), d[0][keep]

    def save(self, path: Path) -> None:
        import faiss

        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> AnnIndex:
        import faiss

        return cls(faiss.read_index(str(path)))
