"""Library indexes: a folder of scores embedded once (SQLite metadata + a memory-mapped
matrix), updated incrementally by content hash, searched exactly or with FAISS.

Public: ``Index``, ``Hit``, ``UpdateReport``, ``build_index``, ``as_index``, ``model_fingerprint``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["Hit", "Index", "UpdateReport", "as_index", "build_index", "model_fingerprint"]

__getattr__ = lazy_exports(__name__, {
    "Index": ".library", "Hit": ".library", "UpdateReport": ".library", "as_index": ".library",
    "build_index": ".library", "model_fingerprint": ".workers"})
