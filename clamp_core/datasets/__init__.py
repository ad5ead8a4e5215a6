"""Training data: sources (music21 corpus, folders, ABC files), conversion with a cache, labels
and text candidates per work, dataset records and splits.

Public: ``build_dataset``, ``load_records``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["build_dataset", "load_records"]

__getattr__ = lazy_exports(__name__, {"build_dataset": ".build", "load_records": ".records"})
