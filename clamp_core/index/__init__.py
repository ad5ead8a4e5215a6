"""Library indexes: a folder of scores embedded once (SQLite metadata + a memory-mapped
matrix), updated incrementally by content hash, searched exactly or with FAISS.

Public: ``Index``, ``Hit``, ``UpdateReport``, ``build_index``, ``as_index``, ``model_fingerprint``,
the search filters ``parse_conditions`` / ``FILTER_FIELDS`` (what ``where=`` accepts), and the
PostgreSQL store ``PgIndex`` / ``is_store_url`` (an index served from a database).
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["FILTER_FIELDS", "Hit", "Index", "PgIndex", "UpdateReport", "as_index", "build_index",
           "is_store_url", "model_fingerprint", "parse_conditions"]

__getattr__ = lazy_exports(__name__, {
    "Index": ".library", "Hit": ".hits", "UpdateReport": ".library", "as_index": ".library",
    "build_index": ".library", "model_fingerprint": ".workers",
    "parse_conditions": ".filters", "FILTER_FIELDS": ".filters", "PgIndex": ".pgstore",
    "is_store_url": ".pgstore"})
