"""Evaluation: the quality report of `clamp evaluate` on a model folder or an ONNX bundle
(zero-shot tasks, linear probes, text -> music retrieval, baselines) and its metrics. Label
ranking itself is clamp_core.zero_shot, shared with the API.

Public: ``evaluate``, ``zero_shot_accuracy``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["evaluate", "zero_shot_accuracy"]

__getattr__ = lazy_exports(__name__, {"evaluate": ".report", "zero_shot_accuracy": ".report"})
