"""Batched feature extraction with a torch ClampModel: ABC strings and texts -> features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .model import ClampModel
from .patches import pad_batch, patchify, segment_windows
from .precision import autocast_for


def _windows(model: ClampModel, abc: str) -> list[np.ndarray]:
    """Patch windows of one piece: the head only (official) or all windows (segment-averaging)."""
    cfg = model.config
    if cfg.long_score == "truncate":
        return [patchify(abc, max_length=cfg.max_length)]
    patches = patchify(abc, max_length=None)
    return [patches[a:b] for a, b in segment_windows(len(patches), cfg.max_length)]


@torch.inference_mode()
def encode_abc(model: ClampModel, abcs: Sequence[str], batch_size: int = 16,
               precision: str = "fp32") -> np.ndarray:
    """Projected, unnormalised music features [N, D] of filtered ABC strings.

    Windows are sorted by length so each batch pads little; long pieces average their windows
    weighted by window length.
    """
    items = [(i, w) for i, abc in enumerate(abcs) for w in _windows(model, abc)]
    order = sorted(range(len(items)), key=lambda j: len(items[j][1]))
    device = next(model.parameters()).device
    feats = np.zeros((len(abcs), model.config.projection_dim), dtype=np.float64)
    weights = np.zeros(len(abcs), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        chunk = [items[j] for j in order[start:start + batch_size]]
        ids, mask = pad_batch([w for _, w in chunk])
        with autocast_for(precision, device):
            out = model.encode_music(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
        for (i, w), f in zip(chunk, out.float().cpu().numpy()):
            feats[i] += len(w) * f
            weights[i] += len(w)
    return (feats / weights[:, None]).astype(np.float32)


@torch.inference_mode()
def encode_texts(model: ClampModel, texts: Sequence[str], batch_size: int = 64,
                 precision: str = "fp32") -> np.ndarray:
    """Projected, unnormalised text features [N, D]; batches grouped by text length."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    device = next(model.parameters()).device
    out = np.zeros((len(texts), model.config.projection_dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = {k: v.to(device) for k, v in model.tokenize([texts[i] for i in idx]).items()}
        with autocast_for(precision, device):
            out[idx] = model.encode_text(**batch).float().cpu().numpy()
    return out
