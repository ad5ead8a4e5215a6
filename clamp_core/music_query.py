"""A score (or some of its bars) made ready to search a library with."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np


@dataclass
class MusicQuery:
    """``vectors``: the music's embedding [D], or [M, D] for a search in any key (the music as
    written first, then moved to the other keys); ``span``: the [first, last] bar numbers the
    query covers when it is some bars of a score; ``texts``: the ABC of each row of ``vectors``
    (none when the caller encoded the music itself)."""

    vectors: np.ndarray
    span: list[int] | None
    texts: list[str] = field(default_factory=list)

    @cached_property
    def prints(self) -> list[list[str]]:
        """The note fingerprints of each text's bars (``notation.bar_prints``), worked out
        when a passage search ranks by them, not for a search of whole works."""
        from clamp_core.notation import bar_prints, parse_tune

        return [bar_prints(parse_tune(t)) for t in self.texts]

    @property
    def written(self) -> np.ndarray:
        """The embedding of the music as written (for novelty)."""
        return self.vectors[0] if self.vectors.ndim == 2 else self.vectors
