"""Zero-shot ranking of labels, written once: the API's classify and captions, `clamp evaluate`
and clamp-export's quality check all call these.

A label is the renormalised mean of its prompts' unit text embeddings (prompt ensembling);
a score's probability over labels is the softmax of the model's logit scale times cosine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from clamp_core.runtime.encoder import l2_normalise

EmbedTexts = Callable[[list[str]], np.ndarray]


def label_prompts(labels: Sequence[str], templates: Sequence[str],
                  own: Mapping[str, Sequence[str]] | None = None) -> list[list[str]]:
    """Each label's prompts: every template filled with it, plus any prompts of its own."""
    return [[t.format(label) for t in templates] + list((own or {}).get(label, ()))
            for label in labels]


def label_prototypes(embed: EmbedTexts, prompts: Sequence[Sequence[str]]) -> np.ndarray:
    """One unit vector per label [L, D] from each label's prompts, embedded in one call."""
    if any(not group for group in prompts):
        raise ValueError("every label needs at least one prompt")
    flat = [t for group in prompts for t in group]
    emb = l2_normalise(np.asarray(embed(flat), dtype=np.float32))
    ends = np.cumsum([len(group) for group in prompts])
    return l2_normalise(np.stack([emb[end - len(g):end].mean(0)
                                  for g, end in zip(prompts, ends, strict=True)]))


def label_probabilities(music: np.ndarray, prototypes: np.ndarray,
                        logit_scale: float) -> np.ndarray:
    """Softmax over labels of ``logit_scale`` x cosine, for one score [D] or many [N, D]."""
    return softmax(logit_scale * (l2_normalise(music) @ prototypes.T))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis (shifted by the maximum, so large logits stay finite)."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def nearest_labels(music: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """Index of the nearest label of each score [N] (argmax of cosine)."""
    return (l2_normalise(music) @ prototypes.T).argmax(axis=-1)
