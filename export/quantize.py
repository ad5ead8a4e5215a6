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
                 "reduce_range": True, "op_types": ["MatMul"],
                 "embedding_tables": "int8 with one scale per row (Gather, Cast, Mul)"}
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
# Weights the level above keeps fp32 are stored compactly and restored to fp32 inside the
# graph: MatMul weights as int8 with a scale per output column (weight-only: the activations
# that per-tensor dynamic int8 could not hold stay fp32), other tensors as fp16. Small tensors
# (biases, norms) stay fp32: they save nothing.
FP16_STORAGE_MIN_ELEMENTS = 65536
# Compact storage may cost at most this much on its own (cosine to fp32 on the verification
# inputs); tiers: every fp32 MatMul weight int8, FFN down-projections fp16 (their inputs carry
# the GELU outliers that magnify weight error), everything fp16. 0.9985, not 0.999: the default
# model v4's text tower reaches 0.99894 with its FFN down-projections fp16 (v3: 0.99901), and
# everything fp16 would put 7 MB more in the wheel than its 60 MiB budget holds.
STORAGE_TARGET = 0.9985


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
                         op_types_to_quantize=INT8_SETTINGS["op_types"], nodes_to_exclude=exclude,
                         per_channel=INT8_SETTINGS["per_channel"],
                         reduce_range=INT8_SETTINGS["reduce_range"])
    finally:
        logging.getLogger().removeFilter(hint)
    quantize_embedding_rows(dst)
    return dst


def quantize_embedding_rows(path: Path, min_elements: int = FP16_STORAGE_MIN_ELEMENTS) -> int:
    """Rewrite ``path`` so each large embedding table read by a Gather is int8 with one fp32
    scale per row: Gather(int8) -> Cast -> Mul(Gather(scales)). One scale for a whole table (what
    quantize_dynamic does) loses rare tokens' small rows: the text tower's cosine to fp32 fell to
    0.998 from the table alone. Returns how many tables were rewritten."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    consumers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    done = 0
    for pos in range(len(graph.node) - 1, -1, -1):
        node = graph.node[pos]
        table = inits.get(node.input[0]) if node.op_type == "Gather" else None
        if (table is None or table.data_type != TensorProto.FLOAT or len(table.dims) != 2
                or int(np.prod(table.dims)) < min_elements or consumers[table.name] != 1
                or any(a.name == "axis" and a.i != 0 for a in node.attribute)):
            continue
        w = numpy_helper.to_array(table)
        scale = np.maximum(np.abs(w).max(axis=1, keepdims=True), 1e-12) / 127.0
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        base = table.name
        graph.initializer.remove(table)
        graph.initializer.extend([numpy_helper.from_array(q, f"{base}.rows_int8"),
                                  numpy_helper.from_array(scale.astype(np.float32),
                                                          f"{base}.row_scale")])
        ids, out = node.input[1], node.output[0]
        new_nodes = [
            helper.make_node("Gather", [f"{base}.rows_int8", ids], [f"{base}.q"], axis=0,
                             name=f"{base}.gather_q"),
            helper.make_node("Cast", [f"{base}.q"], [f"{base}.qf"], to=TensorProto.FLOAT,
                             name=f"{base}.cast_q"),
            helper.make_node("Gather", [f"{base}.row_scale", ids], [f"{base}.s"], axis=0,
                             name=f"{base}.gather_s"),
            helper.make_node("Mul", [f"{base}.qf", f"{base}.s"], [out], name=f"{base}.dequant"),
        ]
        del graph.node[pos]
        for k, n in enumerate(new_nodes):
            graph.node.insert(pos + k, n)
        done += 1
    if done:
        onnx.save(model, str(path))
    return done


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
    groups = _node_groups(src, intermediate)
    for tier, (int8_matmul, fp16_nodes) in enumerate(
            [(True, frozenset()), (True, frozenset(groups["ffn_down"])), (False, frozenset())]):
        if tier:
            quantize_int8(src, dst, intermediate, level)
        stored = store_weights_compact(dst, int8_matmul, fp16_nodes)
        if not any(stored.values()):
            break
        compact = min(float(_cosines(session(dst).run(None, feeds)[0], ref).min())
                      for feeds, ref in batches)
        if compact >= min(worst, STORAGE_TARGET) or not int8_matmul:
            worst = compact
            break
    return {"level": level, "kept_fp32": INT8_LEVELS[level], "min_cosine": worst,
            "target": INT8_TARGET, "min_cosine_by_level": tried, "stored_weights": stored}


def store_weights_compact(path: Path, int8_matmul: bool = True, fp16_nodes: frozenset = frozenset(),
                          min_elements: int = FP16_STORAGE_MIN_ELEMENTS) -> dict[str, int]:
    """Rewrite ``path`` so its large fp32 weights take fewer bytes while the maths stays fp32:
    a MatMul's weight matrix as int8 with one scale per output column (``int8_matmul``), any
    other large tensor (and the weights of MatMuls named in ``fp16_nodes``) as fp16; a Cast (and
    a Mul by the scales) in the graph restores fp32,
    folded into constants when ONNX Runtime loads the graph. Returns how many of each."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    uses: dict[str, list[tuple[str, int]]] = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            op = "MatMul(fp16)" if node.name in fp16_nodes else node.op_type
            uses.setdefault(name, []).append((op, k))
    restore, counts = [], {"int8_per_column": 0, "fp16": 0}
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        w = numpy_helper.to_array(init)
        graph.initializer.remove(init)
        if int8_matmul and w.ndim == 2 and uses.get(init.name) == [("MatMul", 1)]:
            scale = (np.maximum(np.abs(w).max(axis=0, keepdims=True), 1e-12) / 127.0)
            q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
            graph.initializer.extend([numpy_helper.from_array(q, f"{init.name}.int8"),
                                      numpy_helper.from_array(scale.astype(np.float32),
                                                              f"{init.name}.scale")])
            restore += [helper.make_node("Cast", [f"{init.name}.int8"], [f"{init.name}.f"],
                                         to=TensorProto.FLOAT, name=f"{init.name}.cast"),
                        helper.make_node("Mul", [f"{init.name}.f", f"{init.name}.scale"],
                                         [init.name], name=f"{init.name}.rescale")]
            counts["int8_per_column"] += 1
        else:
            graph.initializer.append(numpy_helper.from_array(w.astype(np.float16),
                                                             f"{init.name}.fp16"))
            restore.append(helper.make_node("Cast", [f"{init.name}.fp16"], [init.name],
                                            to=TensorProto.FLOAT, name=f"{init.name}.cast"))
            counts["fp16"] += 1
    if restore:
        for node in reversed(restore):  # ahead of every consumer: the order stays topological
            graph.node.insert(0, node)
        onnx.save(model, str(path))
    return counts


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def convert_fp16(src: Path, dst: Path) -> Path:
    """fp16 weights and maths with fp32/int64 inputs and outputs (the runtime feeds the same)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))
    return dst
