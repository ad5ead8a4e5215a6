"""Any score input -> the ABC text the model reads (official CLaMP dialect, header-filtered)."""

from __future__ import annotations

from clamp_core.notation.writer import filter_abc_header, stream_to_abc
from clamp_core.scores.load import Score, load_score


def score_to_abc(score: Score) -> str:
    """ABC input stays as written (music21's ABC reader would lose bar-scoped accidentals) and
    only passes the official header filter; every other format goes through our ABC writer."""
    if score.abc_source is not None:
        return filter_abc_header(score.abc_source)
    return stream_to_abc(score.stream)


def to_abc(source) -> str:
    """Path, ABC text or music21 stream -> model-ready ABC."""
    return score_to_abc(load_score(source))
