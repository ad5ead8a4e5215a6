"""The torch backend: a ClampModel as an `Encoder`, and the batched feature extraction that
evaluation and training call on a bare model."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clamp_core.model.modelling import ClampModel
from clamp_core.runtime.batching import encode_music_batches, encode_text_batches
from clamp_core.runtime.precision import autocast_for


@torch.inference_mode()
def encode_abc(model: ClampModel, abcs: Sequence[str], batch_size: int = 16,
               precision: str = "fp32") -> np.ndarray:
    """Projected, unnormalised music features [N, D] of filtered ABC strings (see
    clamp_core.runtime.batching for windows and batching)."""
    device = next(model.parameters()).device

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with autocast_for(precision, device):
            out = model.encode_music(torch.from_numpy(ids).to(device),
                                     torch.from_numpy(mask).to(device))
        return out.float().cpu().numpy()

    return encode_music_batches(model.config, abcs, run, batch_size)


@torch.inference_mode()
def encode_texts(model: ClampModel, texts: Sequence[str], batch_size: int = 64,
                 precision: str = "fp32") -> np.ndarray:
    """Projected, unnormalised text features [N, D]; batches grouped by text length."""
    device = next(model.parameters()).device

    def run(batch_texts: list[str]) -> np.ndarray:
        batch = {k: v.to(device) for k, v in model.tokenize(batch_texts).items()}
        with autocast_for(precision, device):
            return model.encode_text(**batch).float().cpu().numpy()

    return encode_text_batches(model.config.projection_dim, texts, run, batch_size)


def weights_fingerprint(model: ClampModel) -> str:
    """Config plus both projection matrices: a retrained model gets a new fingerprint, a copied
    or renamed folder keeps it (an ONNX bundle records its torch model's)."""
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    sd = model.state_dict()
    for key in ("music_proj.weight", "text_proj.weight"):
        h.update(sd[key].detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


class TorchEncoder:
    """A torch ClampModel on one device and precision (bf16 autocast, or an int8 copy)."""

    backend = "torch"

    def __init__(self, model: ClampModel, name: str = "model", device: str | None = None,
                 precision: str = "fp32", folder: Path | None = None):
        self.model = model.eval()
        self.name = str(name)
        self.folder = folder
        self.device = device or str(next(model.parameters()).device)
        self.precision = precision
        self.config = model.config
        self._runner = model
        if precision == "int8":
            from clamp_core.runtime.precision import quantize_int8

            self._runner = quantize_int8(model)
        self._fingerprint: str | None = None

    @classmethod
    def load(cls, name_or_path: Any = "default", device: str = "cpu",
             precision: str = "auto") -> TorchEncoder:
        from clamp_core.model.checkpoint import load_model, resolve_model_folder
        from clamp_core.runtime.precision import choose

        model = load_model(name_or_path, device=device)
        return cls(model, str(name_or_path), device, choose(precision, torch.device(device)),
                   folder=resolve_model_folder(name_or_path))

    @property
    def dim(self) -> int:
        return int(self.config.projection_dim)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp())

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = weights_fingerprint(self.model)
        return self._fingerprint

    def _amp(self) -> str:
        return "bf16" if self.precision == "bf16" else "fp32"

    def encode_abc(self, abcs: Sequence[str], batch_size: int = 16) -> np.ndarray:
        return encode_abc(self._runner, list(abcs), batch_size=batch_size, precision=self._amp())

    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return encode_texts(self._runner, list(texts), batch_size=batch_size, precision=self._amp())
