"""Running a model: the `Encoder` interface and its torch and ONNX Runtime implementations,
length-bucketed batching shared by both, execution providers and CPU precision choices.

Public: ``Encoder``, ``load_encoder``, ``l2_normalise``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["Encoder", "l2_normalise", "load_encoder"]

__getattr__ = lazy_exports(__name__, {
    "Encoder": ".encoder", "l2_normalise": ".encoder", "load_encoder": ".loading"})
