"""Which ONNX Runtime execution provider to ask for, decided before a session exists.

onnxruntime-gpu lists CUDA as "available" even where its libraries cannot load, and asking for
it there floods stderr with load errors before falling back to CPU. So CUDA is requested only
when the NVIDIA driver and the CUDA/cuDNN libraries of the installed build load here.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import logging
import os

from clamp_core.errors import ClampError

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def parse_device(device: str | None) -> tuple[str, int]:
    """``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` -> (kind, device id)."""
    d = (device or "auto").strip().lower()
    if d in ("auto", "cpu", "cuda"):
        return d, 0
    if d.startswith("cuda:") and d[5:].isdigit():
        return "cuda", int(d[5:])
    raise ClampError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N")


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
        return True
    except OSError:
        return False


def _cuda_major() -> str:
    """CUDA major version the installed onnxruntime-gpu was built against ("" if unknown)."""
    try:
        from onnxruntime.capi import build_and_package_info as info
    except ImportError:
        return ""
    return str(getattr(info, "cuda_version", "") or "").split(".")[0]


def _cuda_libraries(major: str) -> list[str]:
    return [f"libcudart.so.{major}", f"libcublasLt.so.{major}", f"libcublas.so.{major}",
            "libcudnn.so.9"]


@functools.lru_cache(maxsize=1)
def cuda_unusable_reason(available: tuple[str, ...]) -> str | None:
    """None when CUDA can run here, else why not (one line, for logs and errors)."""
    if CUDA not in available:
        return "this onnxruntime has no CUDA provider (Linux x86_64 installs onnxruntime-gpu)"
    if os.name != "posix":
        return None  # Windows wheels find their DLLs themselves; ORT reports the outcome
    if not _loads("libcuda.so.1"):
        return "no NVIDIA driver (libcuda.so.1) on this machine"
    major = _cuda_major()
    if not major:
        return None
    missing = [lib for lib in _cuda_libraries(major) if not _loads(lib)]
    if missing and importlib.util.find_spec("nvidia") is not None:
        import onnxruntime as ort

        if hasattr(ort, "preload_dlls"):  # CUDA/cuDNN from the nvidia-* pip wheels
            try:
                ort.preload_dlls(cuda=True, cudnn=True, msvc=False)
            except Exception as e:  # noqa: BLE001 - any failure just means "not usable"
                log.debug("preload_dlls failed: %s", e)
            missing = [lib for lib in missing if not _loads(lib)]
    if missing:
        return (f"CUDA {major} / cuDNN 9 libraries not found ({', '.join(missing)}); install them "
                f"(e.g. pip install 'onnxruntime-gpu[cuda,cudnn]') to use the GPU")
    return None


def choose_providers(kind: str, available: tuple[str, ...], cuda_reason: str | None,
                     device_id: int = 0) -> list:
    """Providers for a session: CUDA then CPU when CUDA works and is wanted, else CPU only.

    ``kind`` is "auto" (CUDA when usable), "cpu" or "cuda" (an error when CUDA is unusable).
    """
    if kind == "cpu" or (kind == "auto" and cuda_reason is not None):
        if kind == "auto" and CUDA in available:
            log.info("ONNX Runtime on CPU: %s", cuda_reason)
        return [CPU]
    if cuda_reason is not None:
        raise ClampError(f"device 'cuda' asked for but {cuda_reason}; use device='cpu' or 'auto'")
    return [(CUDA, {"device_id": device_id}), CPU]
