"""Backend-neutral batching of feature extraction (numpy only): windows of long pieces,
length-sorted batches, window averaging. The torch and ONNX backends plug in a batch runner."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from clamp_core.model.config import ClampConfig
from clamp_core.notation.patches import pad_batch, patchify, segment_windows

MusicRunner = Callable[[np.ndarray, np.ndarray], np.ndarray]  # ids [B,P,64], mask [B,P] -> [B,D]
TextRunner = Callable[[list[str]], np.ndarray]  # texts -> [B, D]


def music_windows(cfg: ClampConfig, abc: str) -> list[np.ndarray]:
    """Patch windows of one piece: the head only (official) or all windows (segment-averaging)."""
    if cfg.long_score == "truncate":
        return [patchify(abc, max_length=cfg.max_length)]
    patches = patchify(abc, max_length=None)
    return [patches[a:b] for a, b in segment_windows(len(patches), cfg.max_length)]


def encode_music_batches(cfg: ClampConfig, abcs: Sequence[str], run: MusicRunner,
                         batch_size: int = 16) -> np.ndarray:
    """Projected, unnormalised music features [N, D] of filtered ABC strings.

    Windows are sorted by length so each batch pads little; long pieces average their windows
    weighted by window length.
    """
    items = [(i, w) for i, abc in enumerate(abcs) for w in music_windows(cfg, abc)]
    order = sorted(range(len(items)), key=lambda j: len(items[j][1]))
    feats = np.zeros((len(abcs), cfg.projection_dim), dtype=np.float64)
    weights = np.zeros(len(abcs), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        chunk = [items[j] for j in order[start:start + batch_size]]
        ids, mask = pad_batch([w for _, w in chunk])
        for (i, w), f in zip(chunk, run(ids, mask), strict=True):
            feats[i] += len(w) * f
            weights[i] += len(w)
    return (feats / weights[:, None]).astype(np.float32)


def encode_text_batches(dim: int, texts: Sequence[str], run: TextRunner,
                        batch_size: int = 64) -> np.ndarray:
    """Projected, unnormalised text features [N, D]; batches grouped by text length."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        out[idx] = run([texts[i] for i in idx])
    return out
