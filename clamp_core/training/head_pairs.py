"""Writing variants for tuning the music head: each piece's pooled state as written and as
plain notes re-beamed (what MuseScore 4's cursor walk or a MIDI file gives of the same score).

Tuning ``music_proj`` on texts alone spreads the whole music space, so two writings of one song
drift apart although the locked encoder still holds them close; the paired term (the same one
full training's stage 8 uses) pulls each variant's vector back to its piece's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from clamp_core.model.modelling import ClampModel
from clamp_core.runtime.feature_cache import FeatureTable, pooled_music
from clamp_core.training.contrastive import plain_variant_abc


@dataclass
class VariantPairs:
    """Pooled states of pieces as written (row i) and of their variants (row i)."""

    written: torch.Tensor
    variant: torch.Tensor

    def __len__(self) -> int:
        return len(self.written)

    def distance(self, project: Callable[[torch.Tensor], torch.Tensor],
                 idx: np.ndarray | None = None, floor: float = 1.0) -> torch.Tensor:
        """Mean shortfall of the projected writings' cosine below ``floor``, over the pieces
        ``idx`` (all). At floor 1 that is the mean cosine distance: every pair is pulled
        together. A lower floor leaves pairs already that close free, so only the far tail
        (the songs whose two writings drift apart) constrains the head."""
        w, v = ((self.written, self.variant) if idx is None
                else (self.written[idx], self.variant[idx]))
        cosine = torch.nn.functional.cosine_similarity(project(w), project(v), dim=-1)
        return torch.relu(floor - cosine).mean()


def variant_pairs(model: ClampModel, abcs: Sequence[str], written: np.ndarray,
                  table: FeatureTable, seed: int, numbers: Sequence[int]) -> VariantPairs:
    """The pairs of ``abcs`` (their pooled states ``written``; ``numbers``: each piece's index
    in its split, which seeds its re-beaming). Variant states are kept in the pooled ``table``."""
    variants = [plain_variant_abc(a, seed, n) for a, n in zip(abcs, numbers, strict=True)]
    rows = table.rows(variants, lambda todo: pooled_music(model, todo))
    return VariantPairs(torch.from_numpy(np.asarray(written, np.float32)),
                        torch.from_numpy(np.asarray(rows, np.float32)))
