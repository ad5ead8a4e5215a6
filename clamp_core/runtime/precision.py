"""Inference precision: detect what the CPU does fast, never assume it.

bf16 autocast pays off only with AMX or AVX-512 BF16 (elsewhere it is several times slower than
fp32); dynamic int8 needs VNNI to beat fp32 clearly. Parity to fp32 is measured in bench/.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch stays unimported here: the ONNX backend reads cpu_flags() without it
    import torch
    from torch import nn

PRECISIONS = ("auto", "fp32", "bf16", "int8")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """CPU feature flags from /proc/cpuinfo (Linux); empty where unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def fast_bf16() -> bool:
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())


def fast_int8() -> bool:
    return bool({"amx_int8", "avx512_vnni", "avx_vnni"} & cpu_flags())


def choose(requested: str, device: torch.device) -> str:
    """The precision to run: CUDA takes bf16 where supported; CPUs by their features."""
    if requested not in PRECISIONS:
        from clamp_core.errors import ClampError

        raise ClampError(f"precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if requested != "auto":
        return requested
    import torch

    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if fast_bf16():
        return "bf16"
    return "int8" if fast_int8() else "fp32"


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy whose transformer Linear layers run dynamic int8 (the patch embedding, read as a
    lookup table, and the projections stay fp32)."""
    import torch
    from torch import nn

    q = copy.deepcopy(model)
    with warnings.catch_warnings():  # torch.ao's dynamic quantisation warns about its future home
        warnings.simplefilter("ignore")
        q.music_enc.enc = torch.ao.quantization.quantize_dynamic(q.music_enc.enc, {nn.Linear},
                                                                 torch.qint8)
        q.text_enc = torch.ao.quantization.quantize_dynamic(q.text_enc, {nn.Linear}, torch.qint8)
    return q


def autocast_for(precision: str, device: torch.device):
    if precision == "bf16":
        import torch

        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
