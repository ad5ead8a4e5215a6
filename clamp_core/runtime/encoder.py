"""The one interface every backend implements: scores' ABC and texts in, projected features out.

`Clamp` holds an `Encoder` and never asks which backend it is; the torch encoder
(runtime.torch_encoder) and the ONNX Runtime encoder (runtime.onnx_encoder) both satisfy it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from clamp_core.model.config import ClampConfig


@runtime_checkable
class Encoder(Protocol):
    """Projected, unnormalised features of filtered ABC texts and of natural-language texts."""

    name: str  # what was loaded: a model folder, a bundle, "default"
    backend: str  # "torch" or "onnx": for reports and logs, never for branching
    device: str  # "cpu", "cuda:0"
    precision: str  # "fp32", "bf16", "int8", "fp16"
    config: ClampConfig
    folder: Path | None  # the model folder or bundle on disk (its calibration lives there)

    @property
    def dim(self) -> int:
        """Width of the shared space."""
        ...

    @property
    def logit_scale(self) -> float:
        """The trained temperature, exp(logit_scale): cosine x this = the contrastive logit."""
        ...

    @property
    def fingerprint(self) -> str:
        """Identifies the weights (not the folder name): an index checks it before searching."""
        ...

    def encode_abc(self, abcs: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Music features [N, D] of model-ready ABC texts (windows averaged for long pieces)."""
        ...

    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Text features [N, D]."""
        ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(min=1e-12)
