"""How far a model's answers can be trusted, fitted on the validation split and kept in the model
folder (``calibration.json`` + ``calibration.npz``, written by `clamp calibrate`):

- temperatures that turn label cosines into probabilities that are right as often as they say:
  one per built-in label set the validation labels can check, one for any other labels;
- per facet, the calibrated confidence from which a caption states it (>= 0.85 precision on
  val), and for each answer the model gave often enough on val, a threshold of its own;
- a sample of training music embeddings and the nearest-neighbour cosine below which a score is
  "unlike anything this model was trained on";
- a logistic map from a text -> music cosine to the chance that the work fits the query, and the
  relevance below which a search says nothing matches well;
- a bank of real descriptions (training texts) with their embeddings, for captions.

A folder without these files still works: probabilities are then the raw softmax and nothing is
flagged (``Calibration.missing()``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clamp_core.errors import ClampError
from clamp_core.runtime.encoder import l2_normalise

log = logging.getLogger(__name__)

CALIBRATION_JSON = "calibration.json"
CALIBRATION_NPZ = "calibration.npz"
FORMAT = 1


@dataclass(frozen=True)
class Novelty:
    """How close a score is to the training music: its nearest training neighbour's cosine and
    whether that falls below the model's threshold (None: the model carries no reference)."""

    nearest: float | None
    threshold: float | None

    @property
    def unfamiliar(self) -> bool:
        return self.nearest is not None and self.threshold is not None and (
            self.nearest < self.threshold)

    def to_dict(self) -> dict[str, Any]:
        return {"out_of_domain": self.unfamiliar,
                "nearest_training_cosine": None if self.nearest is None else round(self.nearest, 4),
                "threshold": self.threshold,
                **({"message": UNFAMILIAR} if self.unfamiliar else {})}


UNFAMILIAR = "unlike anything this model was trained on: treat its answers with caution"


@dataclass
class Calibration:
    fingerprint: str | None = None      # the weights it was fitted for
    temperature: float = 1.0            # probabilities = softmax(logit_scale * cos / temperature)
    # built-in label sets with a temperature of their own: name -> {"labels", "temperature"}
    label_set_temperatures: dict[str, dict[str, Any]] = field(default_factory=dict)
    facet_thresholds: dict[str, float | None] = field(default_factory=dict)  # None: never stated
    # facet -> label -> its own threshold, for labels the model answered often enough on val
    # (None: that answer never reached the precision); other labels use the facet's
    label_thresholds: dict[str, dict[str, float | None]] = field(default_factory=dict)
    ood_threshold: float | None = None  # nearest training cosine below which a score is flagged
    relevance: dict[str, float] | None = None  # {"slope", "intercept", "no_match"}
    report: dict[str, Any] = field(default_factory=dict)  # what it was fitted on, val figures
    reference: np.ndarray | None = None  # [K, D] training music embeddings, centred, unit
    reference_center: np.ndarray | None = None  # [D] mean of the unit training embeddings
    bank_texts: list[str] = field(default_factory=list)
    bank_vectors: np.ndarray | None = None  # [B, D] unit text embeddings of bank_texts
    bank_sources: list[str] = field(default_factory=list)  # hash of the ABC each text describes

    @classmethod
    def missing(cls) -> Calibration:
        return cls()

    @property
    def fitted(self) -> bool:
        return self.fingerprint is not None

    # -- reading and writing ---------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | Path | None, fingerprint: str | None = None) -> Calibration:
        """The calibration in a model folder or bundle; ``missing()`` when there is none or it
        was fitted for other weights (a retrained model must be re-calibrated)."""
        folder = _calibration_folder(folder)
        if folder is None:
            return cls.missing()
        try:
            data = json.loads((folder / CALIBRATION_JSON).read_text(encoding="utf-8"))
            arrays = (np.load(folder / CALIBRATION_NPZ, allow_pickle=False)
                      if (folder / CALIBRATION_NPZ).is_file() else {})
        except (OSError, ValueError) as e:
            raise ClampError(f"{folder}: unreadable {CALIBRATION_JSON} ({e}); re-run "
                             "`clamp calibrate` or delete the file") from e
        if fingerprint is not None and data.get("fingerprint") != fingerprint:
            log.warning("%s: calibration was fitted for other weights; ignored (re-run "
                        "`clamp calibrate`)", folder)
            return cls.missing()
        bank = data.get("bank", {})
        return cls(
            fingerprint=data.get("fingerprint"), temperature=float(data.get("temperature", 1.0)),
            label_set_temperatures=dict(data.get("label_set_temperatures", {})),
            facet_thresholds=dict(data.get("facet_thresholds", {})),
            label_thresholds={k: dict(v) for k, v in data.get("label_thresholds", {}).items()},
            ood_threshold=data.get("ood_threshold"), relevance=data.get("relevance"),
            report=data.get("report", {}),
            reference=_unit(arrays["reference"]) if "reference" in arrays else None,
            reference_center=(np.asarray(arrays["center"], np.float32)
                              if "center" in arrays else None),
            bank_texts=list(bank.get("texts", [])), bank_sources=list(bank.get("sources", [])),
            bank_vectors=_unit(arrays["bank"]) if "bank" in arrays else None)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        arrays = {}
        if self.reference is not None:
            arrays["reference"] = self.reference.astype(np.float16)
        if self.reference_center is not None:
            arrays["center"] = self.reference_center.astype(np.float32)
        if self.bank_vectors is not None:
            arrays["bank"] = self.bank_vectors.astype(np.float16)
        data = {"format": FORMAT, "fingerprint": self.fingerprint,
                "temperature": self.temperature,
                "label_set_temperatures": self.label_set_temperatures,
                "facet_thresholds": self.facet_thresholds,
                "label_thresholds": self.label_thresholds,
                "ood_threshold": self.ood_threshold, "relevance": self.relevance,
                "report": self.report,
                "bank": {"texts": self.bank_texts, "sources": self.bank_sources}}
        with open(folder / CALIBRATION_NPZ, "wb") as f:
            np.savez_compressed(f, **arrays)
        (folder / CALIBRATION_JSON).write_text(json.dumps(data, indent=1, ensure_ascii=False),
                                               encoding="utf-8")

    # -- answers ---------------------------------------------------------------------------
    def temperature_for(self, labels) -> float:
        """The temperature of a built-in label set when ``labels`` are its labels (in any
        order), else the one fitted for other labels."""
        wanted = {str(x).lower() for x in labels}
        for entry in self.label_set_temperatures.values():
            if {x.lower() for x in entry["labels"]} == wanted:
                return float(entry["temperature"])
        return self.temperature

    def nearest(self, music: np.ndarray) -> np.ndarray:
        """Cosine of each music embedding [N, D] (or [D]) to its nearest training reference,
        both centred on the training mean (raw cosines of this space all sit near 1)."""
        x = l2_normalise(np.asarray(music, np.float32))
        if self.reference_center is not None:
            x = l2_normalise(x - self.reference_center)
        return (x @ self.reference.T).max(axis=-1)

    def novelty(self, music: np.ndarray) -> Novelty:
        """Nearest-neighbour cosine of a music embedding [D] to the training reference."""
        if self.reference is None:
            return Novelty(None, None)
        return Novelty(float(self.nearest(music)), self.ood_threshold)

    def relevance_of(self, cosine: np.ndarray | float) -> np.ndarray | float:
        """Chance (0-1, fitted on val) that a work with this text -> music cosine fits the query;
        the cosine itself where the model carries no fit."""
        if not self.relevance:
            return cosine
        z = self.relevance["slope"] * np.asarray(cosine, np.float64) + self.relevance["intercept"]
        out = 1.0 / (1.0 + np.exp(-z))
        return float(out) if np.ndim(out) == 0 else out

    @property
    def no_match(self) -> float | None:
        """Relevance below which a query's best match counts as no good match."""
        return (self.relevance or {}).get("no_match")

    def facet_threshold(self, facet: str, label: str | None = None) -> float | None:
        """Calibrated confidence from which a caption states ``facet`` (answered ``label``,
        where that answer has a threshold of its own); None: never (the model was not shown to
        reach the precision target on val, or it was not measured)."""
        own = self.label_thresholds.get(facet, {})
        if label is not None and label in own:
            return own[label]
        return self.facet_thresholds.get(facet)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("reference", "reference_center", "bank_vectors", "bank_texts", "bank_sources"):
            d.pop(k)
        d["reference_size"] = 0 if self.reference is None else len(self.reference)
        d["bank_size"] = len(self.bank_texts)
        return d


def _unit(x: np.ndarray) -> np.ndarray:
    return l2_normalise(np.asarray(x, dtype=np.float32))


def _calibration_folder(folder: str | Path | None) -> Path | None:
    """Where the calibration of a model folder or bundle lives: the folder itself, or for a
    bundle inside its model folder (MODEL/onnx, as the default model ships) the model folder."""
    if folder is None:
        return None
    folder = Path(folder)
    for cand in (folder, folder.parent):
        if (cand / CALIBRATION_JSON).is_file():
            return cand
        if not (folder / "manifest.json").is_file():  # only a bundle looks one level up
            break
    return None
