"""A score (or some of its bars) made ready to search a library with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MusicQuery:
    """``vectors``: the music's embedding [D], or [M, D] for a search in any key (the music as
    written first, then moved to the other keys); ``span``: the [first, last] bar numbers the
    query covers when it is some bars of a score; ``prints``: the note fingerprints of its bars,
    one list per row of ``vectors`` (``notation.bar_prints``), for passage ranking."""

    vectors: np.ndarray
    span: list[int] | None
    prints: list[list[str]]

    @property
    def written(self) -> np.ndarray:
        """The embedding of the music as written (for novelty)."""
        return self.vectors[0] if self.vectors.ndim == 2 else self.vectors
