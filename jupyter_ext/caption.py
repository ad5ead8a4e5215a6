"""ClampCaption: the caption of a score with the facts it states, the facets the model states
or is unsure of, the closest real description, and a warning for a score unlike anything the
model was trained on."""

from __future__ import annotations

from typing import Any

import traitlets

from . import assets
from .base import ClampWidget, plain, resolve_model, score_parts


class ClampCaption(ClampWidget):
    """``ClampCaption(model, score)``; the parts are in ``caption`` (``Caption.to_dict()``:
    facts, facets with every candidate's probability, ``stated`` {facet: {label, probability}},
    ``unsure`` [facet], ``sentence`` {text, cosine} (the closest training text) or None,
    ``novelty``, text). ``novelty`` repeats ``caption["novelty"]`` as its own trait, as the
    other widgets carry it; ``calibrated``: the model carries a calibration."""

    _esm = assets.widget_esm("caption")
    caption = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    composer = traitlets.Unicode("").tag(sync=True)
    notation = traitlets.Dict().tag(sync=True)
    calibrated = traitlets.Bool(False).tag(sync=True)
    novelty = traitlets.Dict().tag(sync=True)

    def __init__(self, model: Any, score: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self._clamp = resolve_model(model)
        loaded, _, notes, names = score_parts(score)
        self.result = self._clamp.caption(loaded)
        with self.hold_sync():
            self.notation = notes.to_dict()
            self.title, self.composer = names["title"], names["composer"]
            self.caption = plain(self.result.to_dict())
            self.calibrated = self._clamp.calibration.fitted
            self.novelty = self.caption.get("novelty") or {}

    @property
    def text(self) -> str:
        return self.result.text

    @property
    def stated(self) -> dict[str, dict[str, Any]]:
        """The facets the caption states: {facet: {label, probability}}."""
        return self.caption.get("stated", {})

    @property
    def unsure(self) -> list[str]:
        """The facets the model could not settle (not stated)."""
        return self.caption.get("unsure", [])
