"""Smaller and faster variants of the fp32 graphs: dynamic int8 for CPUs, fp16 for CUDA."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

# Settings of the int8 variant, recorded in the manifest. reduce_range (7-bit weights) avoids
# the u8 x s8 overflow of CPUs without VNNI (AVX2 pmaddubsw saturates); per-tensor scales beat
# per-channel here (measured: cosine 0.9999 vs 0.998 to fp32 on the default model, AVX2 CPU).
INT8_SETTINGS = {"method": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8",
                 "activations": "QUInt8 (dynamic, per tensor)", "per_channel": False,
                 "reduce_range": True, "op_types": ["MatMul", "Gather"]}
FP16_SETTINGS = {"method": "onnxruntime.transformers.float16.convert_float_to_float16",
                 "keep_io_types": True}


class _DropPreprocessHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


# Mixed precision by measured sensitivity: the first level whose cosine to fp32 on the real
# verification inputs reaches INT8_TARGET is kept. Pretrained text encoders (MiniLM) carry
# activation outliers after GELU that per-tensor int8 cannot represent: their FFN stays fp32.
INT8_LEVELS = ("all weights", "FFN down-projections kept fp32", "FFN kept fp32",
               "embedding tables only")
INT8_TARGET = 0.995


def _node_groups(src: Path, intermediate: int) -> dict[str, list[str]]:
    """Names of MatMul nodes by role: activation x activation, FFN up, FFN down."""
    import onnx

    graph = onnx.load(str(src), load_external_data=False).graph
    shapes = {i.name: list(i.dims) for i in graph.initializer}
    groups: dict[str, list[str]] = {"activations": [], "ffn_up": [], "ffn_down": [], "other": []}
    for node in graph.node:
        if node.op_type not in ("MatMul", "Gemm"):
            continue
        dims = next((shapes[i] for i in node.input if i in shapes and len(shapes[i]) == 2), None)
        if dims is None:
            groups["activations"].append(node.name)
        elif dims[0] == intermediate:
            groups["ffn_down"].append(node.name)
        elif dims[1] == intermediate:
            groups["ffn_up"].append(node.name)
        else:
            groups["other"].append(node.name)
    return groups


def quantize_int8(src: Path, dst: Path, intermediate: int, level: int = 0) -> Path:
    """Dynamic int8 of weight MatMuls and Gathers, sparing the roles ``level`` keeps fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    groups = _node_groups(src, intermediate)
    exclude = list(groups["activations"])
    if level >= 1:
        exclude += groups["ffn_down"]
    if level >= 2:
        exclude += groups["ffn_up"]
    if level >= 3:
        exclude += groups["other"]
    hint = _DropPreprocessHint()  # the hint is about static quantisation of CNNs
    logging.getLogger().addFilter(hint)
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Gather"], nodes_to_exclude=exclude,
                         per_channel=INT8_SETTINGS["per_channel"],
                         reduce_range=INT8_SETTINGS["reduce_range"])
    finally:
        logging.getLogger().removeFilter(hint)
    return dst


def calibrated_int8(src: Path, dst: Path, intermediate: int,
                    batches: list[tuple[dict, np.ndarray]], session) -> dict:
    """The least fp32 level reaching INT8_TARGET cosine on ``batches`` (inputs, fp32 features);
    ``session(path)`` opens a CPU session. Returns the level and its worst cosine."""
    tried = []
    for level in range(len(INT8_LEVELS)):
        quantize_int8(src, dst, intermediate, level)
        sess = session(dst)
        worst = min(float(_cosines(sess.run(None, feeds)[0], ref).min()) for feeds, ref in batches)
        tried.append(round(worst, 6))
        if worst >= INT8_TARGET:
            break
    return {"level": level, "kept_fp32": INT8_LEVELS[level], "min_cosine": worst,
            "target": INT8_TARGET, "min_cosine_by_level": tried}


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def convert_fp16(src: Path, dst: Path) -> Path:
    """fp16 weights and maths with fp32/int64 inputs and outputs (the runtime feeds the same)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))
    return dst
