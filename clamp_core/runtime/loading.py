"""Open any model a user names as an `Encoder`: a model folder or "default" on torch, a
`clamp-export` bundle on ONNX Runtime (without importing torch)."""

from __future__ import annotations

import logging
import os
from typing import Any

from clamp_core.errors import ClampError
from clamp_core.runtime.encoder import Encoder

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx")


def load_encoder(name_or_path: Any = "default", backend: str = "auto", device: str | None = None,
                 precision: str = "auto", threads: int | None = None) -> Encoder:
    """``backend="auto"`` picks ONNX Runtime for a bundle folder (or a model folder with an
    ``onnx/`` bundle) and torch otherwise.

    ``device``: torch "cpu" (default) / "cuda[:N]"; ONNX "auto" (default: CUDA when its
    libraries load, else CPU), "cpu" or "cuda[:N]". ``threads``: ONNX Runtime CPU threads.
    ``precision="auto"`` follows the CLAMP_PRECISION environment variable where it is set
    (fp32 makes vectors the same on every machine), else what the hardware runs fast.
    """
    if precision == "auto":  # a user (or a test) may pin it for every process it starts
        precision = os.environ.get("CLAMP_PRECISION", "").strip().lower() or "auto"
    if backend not in BACKENDS:
        raise ClampError(f"backend must be 'auto', 'torch' or 'onnx', not {backend!r}")
    from clamp_core.runtime.onnx_encoder import find_bundle

    if backend == "onnx" or (backend == "auto" and find_bundle(name_or_path) is not None):
        from clamp_core.runtime.onnx_encoder import load_bundle

        enc = load_bundle(name_or_path, device=device, precision=precision, threads=threads)
        log.info("loaded %s with ONNX Runtime on %s (%s)", name_or_path, enc.provider,
                 enc.precision)
        return enc
    from clamp_core.runtime.torch_encoder import TorchEncoder

    enc = TorchEncoder.load(name_or_path, device=device or "cpu", precision=precision)
    log.info("loaded %s on %s (%s)", name_or_path, enc.device, enc.precision)
    return enc
