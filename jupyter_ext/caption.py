"""ClampCaption: the caption of a score with the facts it states and the facets it ranks."""

from __future__ import annotations

import json
from typing import Any

import traitlets

from . import assets
from .base import ClampWidget, resolve_model, score_parts


class ClampCaption(ClampWidget):
    """``ClampCaption(model, score)``; the parts are in ``caption`` (``Caption.to_dict()``)."""

    _esm = assets.widget_esm("caption")
    caption = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    composer = traitlets.Unicode("").tag(sync=True)
    notation = traitlets.Dict().tag(sync=True)

    def __init__(self, model: Any, score: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self._clamp = resolve_model(model)
        loaded, _, notes, names = score_parts(score)
        self.result = self._clamp.caption(loaded)
        with self.hold_sync():
            self.notation = notes.to_dict()
            self.title, self.composer = names["title"], names["composer"]
            self.caption = json.loads(json.dumps(self.result.to_dict()))  # plain JSON types only

    @property
    def text(self) -> str:
        return self.result.text
