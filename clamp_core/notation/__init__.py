"""Scores as the text the model reads: the ABC writer (official CLaMP dialect), its header
filter, training variants of an ABC text, bar patches, and passages (windows of bars).

Public: ``stream_to_abc``, ``filter_abc_header``, ``score_to_abc``, ``to_abc``, ``patchify``,
``cut_passages``, ``excerpt``, ``parse_bar_range``, ``passage_window``, ``parse_tune``,
``window_abc``, ``bar_prints``, ``shared_bars`` (which bars hold the same notes).
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["bar_prints", "cut_passages", "excerpt", "filter_abc_header", "parse_bar_range",
           "parse_tune", "passage_window", "patchify", "score_to_abc", "shared_bars",
           "stream_to_abc", "to_abc", "window_abc"]

__getattr__ = lazy_exports(__name__, {
    "stream_to_abc": ".writer", "filter_abc_header": ".header_filter", "score_to_abc": ".convert",
    "to_abc": ".convert", "patchify": ".patches", "cut_passages": ".passages",
    "excerpt": ".passages", "parse_bar_range": ".passages", "passage_window": ".passages",
    "parse_tune": ".passages", "window_abc": ".passages", "bar_prints": ".fingerprints",
    "shared_bars": ".fingerprints"})
