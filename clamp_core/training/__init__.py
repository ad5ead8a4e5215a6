"""Training: contrastive text-music training, masked-patch pre-training of the music encoder,
the shared loop (resume, validation, time budget), DDP helpers and the model card.

Public: ``train_contrastive``, ``pretrain_music``, ``TrainConfig``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["TrainConfig", "pretrain_music", "train_contrastive"]

__getattr__ = lazy_exports(__name__, {
    "train_contrastive": ".contrastive", "pretrain_music": ".pretrain", "TrainConfig": ".loop"})
