"""Library indexes: a folder of scores embedded once (SQLite metadata + a memory-mapped
matrix), updated incrementally by content hash, searched exactly or with FAISS.

Public: ``Index``, ``Hit``, ``UpdateReport``, ``build_index``, ``as_index``, ``model_fingerprint``,
and the search filters ``parse_conditions`` / ``FILTER_FIELDS`` (what ``where=`` accepts).
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["FILTER_FIELDS", "Hit", "Index", "UpdateReport", "as_index", "build_index",
           "model_fingerprint", "parse_conditions"]

__getattr__ = lazy_exports(__name__, {
    "Index": ".library", "Hit": ".library", "UpdateReport": ".library", "as_index": ".library",
    "build_index": ".library", "model_fingerprint": ".workers",
    "parse_conditions": ".filters", "FILTER_FIELDS": ".filters"})
