"""The CLaMP model: configuration, the two towers (modelling), the text-encoder factory,
checkpoint I/O (official CLaMP 1 weights included) and the contrastive loss. Torch lives here.

Public: ``ClampConfig``, ``preset``, ``ClampModel``, ``create_model``, ``load_model``.
"""

from __future__ import annotations

from clamp_core.lazy import lazy_exports

__all__ = ["ClampConfig", "ClampModel", "create_model", "load_model", "preset"]

__getattr__ = lazy_exports(__name__, {
    "ClampConfig": ".config", "preset": ".config", "ClampModel": ".modelling",
    "create_model": ".checkpoint", "load_model": ".checkpoint"})
