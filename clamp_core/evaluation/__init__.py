"""Evaluation: zero-shot label ranking (the one implementation), the quality report of
`clamp evaluate` on a model folder or an ONNX bundle, and retrieval / classification metrics.

Public: ``evaluate``, ``rank_labels``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["evaluate", "rank_labels"]

__getattr__ = lazy_exports(__name__, {"evaluate": ".report", "rank_labels": ".zero_shot"})
