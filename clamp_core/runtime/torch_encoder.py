"""Batched feature extraction with a torch ClampModel: ABC strings and texts -> features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from clamp_core.runtime.batching import encode_music_batches, encode_text_batches
from clamp_core.model.modelling import ClampModel
from clamp_core.runtime.precision import autocast_for


@torch.inference_mode()
def encode_abc(model: ClampModel, abcs: Sequence[str], batch_size: int = 16,
               precision: str = "fp32") -> np.ndarray:
    """Projected, unnormalised music features [N, D] of filtered ABC strings (see
    clamp_core.runtime.batching for windows and batching)."""
    device = next(model.parameters()).device

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with autocast_for(precision, device):
            out = model.encode_music(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
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
