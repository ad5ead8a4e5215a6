"""ClampClassify: a score, candidate labels the user can edit, and the model's probabilities
(calibrated where the model folder carries a calibration), with a warning when the score is
unlike anything the model was trained on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import traitlets

from clamp_core.errors import ClampError

from . import assets
from .base import ClampWidget, novelty_state, resolve_model, score_parts


class ClampClassify(ClampWidget):
    """``ClampClassify(model, score, labels)``: ``labels`` a list of strings or the name of a
    built-in label set (e.g. ``"tune_types"``, whose prompt templates are then used).

    ``probabilities`` are calibrated when ``calibrated`` (the model's ``calibration.json``: a
    stated 70% is right about 70% of the time on its validation tasks), else the raw softmax;
    ``novelty`` is ``Novelty.to_dict()`` of the score (``out_of_domain``: treat the answers with
    caution)."""

    _esm = assets.widget_esm("classify")
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    probabilities = traitlets.List(traitlets.Dict()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    composer = traitlets.Unicode("").tag(sync=True)
    notation = traitlets.Dict().tag(sync=True)
    calibrated = traitlets.Bool(False).tag(sync=True)
    novelty = traitlets.Dict().tag(sync=True)

    def __init__(self, model: Any, score: Any, labels: Sequence[str] | str = "genres",
                 templates: Sequence[str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._clamp = resolve_model(model)
        self._prompts: dict[str, tuple[str, ...]] = {}  # a label set's own prompts per label
        if isinstance(labels, str):
            from clamp_core.labels import load_label_set

            ls = load_label_set(labels)
            labels, templates = list(ls.labels), templates or list(ls.templates)
            self._prompts = ls.prompts
        self._templates = list(templates) if templates else None
        if len({str(x).strip() for x in labels if str(x).strip()}) < 2:
            raise ClampError("ClampClassify needs at least two labels (or a label set name)")
        _, abc, notes, names = score_parts(score)
        self._music = self._clamp.encode_abc([abc])[0]  # once: label edits only embed text
        with self.hold_sync():
            self.notation = notes.to_dict()
            self.title, self.composer = names["title"], names["composer"]
            self.calibrated = self._clamp.calibration.fitted
            self.novelty = novelty_state(self._clamp, self._music)
        self.labels = [str(x) for x in labels]  # the observer classifies

    def classify(self) -> list[tuple[str, float]]:
        """Rank the current labels; the result shows in the chart and is returned."""
        ranked: list[tuple[str, float]] = []
        with self._busy("Classifying…"):
            labels = list(dict.fromkeys(x.strip() for x in self.labels if x.strip()))
            if len(labels) < 2:
                self.probabilities = []
                raise ClampError("add at least two labels to classify")
            ranked = self._clamp.rank_labels(self._music, labels, self._templates, self._prompts)
            self.probabilities = [{"label": a, "probability": round(p, 6)} for a, p in ranked]
        return ranked

    @traitlets.observe("labels")
    def _labels_changed(self, _change: dict) -> None:
        self.classify()
