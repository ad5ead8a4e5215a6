"""Scores as the text the model reads: the ABC writer (official CLaMP dialect), its header
filter, training variants of an ABC text, and bar patches.

Public: ``stream_to_abc``, ``filter_abc_header``, ``score_to_abc``, ``to_abc``, ``patchify``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["filter_abc_header", "patchify", "score_to_abc", "stream_to_abc", "to_abc"]

__getattr__ = lazy_exports(__name__, {
    "stream_to_abc": ".writer", "filter_abc_header": ".header_filter", "score_to_abc": ".convert",
    "to_abc": ".convert", "patchify": ".patches"})
