"""Symmetric InfoNCE (CLIP) loss between music and text features of matching pairs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_LOGIT_SCALE = 100.0  # CLIP's clamp: keeps a learnable temperature from running away


def contrastive_loss(
    music: torch.Tensor,
    text: torch.Tensor,
    logit_scale: torch.Tensor | float,
    normalize: bool = True,
) -> torch.Tensor:
    """Mean of music->text and text->music cross-entropy; row i of both is a matching pair.

    ``logit_scale`` is the multiplier itself (exp of the model's learnable log scale). Under DDP
    pass features already all-gathered across ranks.
    """
    if music.shape != text.shape:
        raise ValueError(f"music {tuple(music.shape)} and text {tuple(text.shape)} features differ")
    if normalize:
        music, text = F.normalize(music, dim=-1), F.normalize(text, dim=-1)
    scale = torch.as_tensor(logit_scale, dtype=music.dtype,
                            device=music.device).clamp(max=MAX_LOGIT_SCALE)
    logits = scale * music @ text.t()
    labels = torch.arange(len(music), device=music.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))


def official_loss(music: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """The official CLaMP 2/3 variant: unnormalised features with a fixed logit scale of 1."""
    return contrastive_loss(music, text, 1.0, normalize=False)
