"""``show(score)``: draw any score (path, ABC text, music21 stream) with a play button."""

from __future__ import annotations

from typing import Any

import traitlets

from . import assets
from .base import ClampWidget, score_parts


class ScoreView(ClampWidget):
    """One score through our ABC writer: first bars, expandable, playable."""

    _esm = assets.widget_esm("score")
    title = traitlets.Unicode("").tag(sync=True)
    composer = traitlets.Unicode("").tag(sync=True)
    notation = traitlets.Dict().tag(sync=True)

    def __init__(self, score: Any, **kwargs: Any):
        super().__init__(**kwargs)
        _, self.abc, notes, names = score_parts(score)
        with self.hold_sync():
            self.notation = notes.to_dict()
            self.title, self.composer = names["title"], names["composer"]


def show(score: Any) -> None:
    """Display ``score`` in the notebook, like music21's ``show()`` (``ScoreView(score)`` gives
    the widget itself)."""
    from IPython.display import display

    display(ScoreView(score))
