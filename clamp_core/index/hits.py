"""A search result of a library index (a local folder or a PostgreSQL store)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Hit:
    """One search result, best first: ``score`` is the cosine in [-1, 1] (music to music for
    similar: 1 is the same music; text to music for search: about 0.2-0.4 for a good match);
    ``relevance`` (text search only) is the calibrated chance that the work fits the query.
    ``bars`` ([first, last], as the score numbers them): the passage, for passage results;
    ``same_notes`` (passages found by music): the share of the query's bars the passage holds
    note for note (1.0: every bar)."""

    rank: int
    score: float
    path: str
    tune: int | None
    title: str | None
    composer: str | None
    id: str
    meta: dict = field(default_factory=dict)
    relevance: float | None = None
    bars: list[int] | None = None
    same_notes: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
