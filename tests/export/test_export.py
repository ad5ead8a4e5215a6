"""clamp-export: bundles of the shipped model and of an official-shaped model, verified against
torch on real inputs; int8/fp16 variants; loud failures on bad input and out-of-tolerance graphs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import FIXTURES

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _manifest(bundle):
    return json.loads((bundle / "manifest.json").read_text())


def test_bundle_holds_models_tokenizer_config_and_manifest(default_bundle):
    m = _manifest(default_bundle)
    assert m["format"] == "clamp-onnx" and m["opset"] == 18 and m["verified"] is True
    for pkg in ("torch", "onnx", "onnxruntime-gpu" if "onnxruntime-gpu" in m["versions"]
                else "onnxruntime", "transformers", "clamp-notation"):
        assert m["versions"][pkg]
    assert set(m["variants"]) == {"fp32", "int8", "fp16"}
    for files in m["variants"].values():
        for tower in ("music", "text"):
            path = default_bundle / files[tower]
            assert path.stat().st_size == files["bytes"][tower]
            assert not list(default_bundle.glob("*.data"))  # single-file models
    assert (default_bundle / "tokenizer" / "tokenizer.json").is_file()
    assert json.loads((default_bundle / "config.json").read_text())["projection_dim"] == 384
    assert m["projection_dim"] == 384 and m["logit_scale_exp"] > 1


def test_graphs_have_dynamic_batch_and_length(default_bundle):
    for name, inputs in (("music.onnx", ("patches", "patch_mask")),
                         ("text.onnx", ("input_ids", "attention_mask"))):
        graph = onnx.load(str(default_bundle / name), load_external_data=False).graph
        assert [i.name for i in graph.input] == list(inputs)
        for inp in graph.input:
            dims = inp.type.tensor_type.shape.dim
            assert dims[0].dim_param and dims[1].dim_param  # symbolic, not fixed
        onnx.checker.check_model(str(default_bundle / name), full_check=True)
    music_input = onnx.load(str(default_bundle / "music.onnx")).graph.input[0]
    patch_dims = music_input.type.tensor_type.shape.dim
    assert patch_dims[2].dim_value == 64


def test_parity_figures_are_recorded_and_within_tolerance(default_bundle):
    m = _manifest(default_bundle)
    shapes = {tuple(r["shape"]) for r in m["parity"]["fp32"]["batches"]["music"]}
    assert len(shapes) == 4 and (1, 512, 64) in shapes  # several shapes, one full window
    assert len({tuple(r["shape"]) for r in m["parity"]["fp32"]["batches"]["text"]}) == 4
    for tower in ("music", "text"):
        assert m["parity"]["fp32"]["worst"][tower]["min_cosine"] > 0.99999
        assert m["parity"]["fp32"]["worst"][tower]["max_abs_diff"] < 1e-4
        assert m["parity"]["fp16"]["worst"][tower]["min_cosine"] > 0.999
        assert m["parity"]["int8"]["worst"][tower]["min_cosine"] >= 0.99


def test_int8_cost_is_measured_and_smaller(default_bundle):
    m = _manifest(default_bundle)
    q = m["quantisation"]["int8"]
    assert q["reduce_range"] is True and q["cosine_to_fp32"]["music"]["min_cosine"] >= 0.99
    for tower in ("music", "text"):
        cal = q[f"{tower}_calibration"]
        assert cal["min_cosine"] >= cal["target"]
        assert len(cal["min_cosine_by_level"]) == cal["level"] + 1
    sizes = {v: sum(f["bytes"].values()) for v, f in m["variants"].items()}
    assert sizes["int8"] < 0.7 * sizes["fp32"] and sizes["fp16"] < 0.6 * sizes["fp32"]


def test_int8_zero_shot_change_on_test_records(default_bundle):
    """The manifest's zero-shot measure, here on the tune-type fixture records (the frozen test
    split of a built dataset is used by bench/onnx_speed.py)."""
    from clamp_core.evaluation.report import zero_shot_accuracy
    from clamp_core.runtime.onnx_encoder import load_bundle
    from export.quality import accuracy_change

    recs = _tune_type_records()
    fp32 = load_bundle(default_bundle, device="cpu", precision="fp32")
    int8 = load_bundle(default_bundle, device="cpu", precision="int8")
    a = zero_shot_accuracy(fp32, recs)
    b = zero_shot_accuracy(int8, recs)
    assert set(a) == {"tune_type"} and a["tune_type"]["n"] == len(recs)
    assert abs(accuracy_change(a, b)["tune_type"]) <= 15  # a few works may flip, not the task


def _tune_type_records() -> list[dict]:
    """Ryan's Mammoth tunes with their R: field as the tune type (real labels, real ABC)."""
    from music21 import corpus

    from clamp_core.notation.header_filter import filter_abc_header

    recs = []
    paths = sorted(p for p in corpus.getPaths(fileExtensions=("abc",)) if "ryansMammoth" in str(p))
    for p in paths[:60]:
        text = p.read_text(encoding="utf-8", errors="replace")
        kind = next((ln[2:].strip().lower() for ln in text.splitlines() if ln.startswith("R:")), "")
        if kind in ("reel", "hornpipe", "jig"):
            recs.append({"abc": filter_abc_header(text),
                         "labels": {"collection": "ryans", "tune_type_coarse": kind}})
    return recs


def test_tolerance_breaches_are_reported():
    from export.verify import failures

    figures = {"music": [{"batch": "8 tunes", "min_cosine": 0.95, "max_rel_diff": 1e-6,
                          "max_abs_diff": 1e-6}],
               "text": [{"batch": "1 prompt", "min_cosine": 1.0, "max_rel_diff": 0.01,
                         "max_abs_diff": 0.02}]}
    bad = failures("fp32", figures)
    assert len(bad) == 2 and "cosine 0.950000" in bad[0] and "relative diff" in bad[1]
    assert failures("int8", {"music": [{"batch": "x", "min_cosine": 0.995, "max_rel_diff": 1,
                                        "max_abs_diff": 1}]}) == []


def _cli(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "export.cli", *args], check=False,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})


def test_bad_inputs_fail_with_one_line(tmp_path):
    res = _cli(str(tmp_path / "missing"), "-o", str(tmp_path / "b"))
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    assert "no such model folder" in res.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    res = _cli("default", "-o", str(busy))
    assert res.returncode == 1 and "not empty" in res.stderr
    assert (busy / "notes.txt").read_text() == "mine"


def test_int8_only_ships_int8_verified_against_the_dropped_fp32(tmp_path):
    """The form the default model ships in (clamp_core/resources/default_model/onnx): fp32 built,
    used as the int8 reference, then dropped; weights dynamic int8 cannot hold are stored
    compactly (weight-only int8 per column, fp16) and restored to fp32 in the graph."""
    out = tmp_path / "small"
    res = _cli("default", "-o", str(out), "--int8-only")
    assert res.returncode == 0, res.stderr[-2000:]
    m = _manifest(out)
    assert m["verified"] is True and set(m["variants"]) == {"int8"} and set(m["parity"]) == {"int8"}
    assert not (out / "music.onnx").exists() and not (out / "text.onnx").exists()
    text = m["quantisation"]["int8"]["text_calibration"]
    stored = text["stored_weights"]
    # which form each weight takes depends on how much error the model's towers tolerate
    # (STORAGE_TARGET); compact it always is
    assert sum(stored.values()) > 0 and text["min_cosine"] >= text["target"]
    graph = onnx.load(str(out / "text.int8.onnx")).graph
    restored = [n for n in graph.node if n.op_type == "Cast" and n.name.endswith(".cast")]
    assert len(restored) == stored["int8_per_column"] + stored["fp16"]
    # nothing large is left in fp32: the bundle is what fits in a wheel
    big_fp32 = [i.name for i in graph.initializer
                if i.data_type == onnx.TensorProto.FLOAT and np.prod(i.dims) >= 65536]
    assert big_fp32 == []
    res = _cli("default", "-o", str(tmp_path / "x"), "--int8-only", "--fp16")
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "--int8-only" in res.stderr


def test_compact_storage_keeps_a_matmul_within_int8_per_column_error(tmp_path):
    """A MatMul weight stored as int8 with one scale per output column (and another large
    tensor as fp16) is restored in the graph: the outputs stay within the rounding error."""
    from onnx import TensorProto, helper, numpy_helper

    from export.quantize import store_weights_compact

    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(256, 384)).astype(np.float32), rng.normal(size=(1, 384)).astype(
        np.float32)
    bias = np.tile(b, (256, 1))  # 98,304 elements: over the fp16 storage size, not a MatMul weight
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y0"]),
         helper.make_node("Add", ["y0", "bias_rows"], ["y1"]),
         helper.make_node("ReduceMean", ["y1"], ["y"], axes=[0], keepdims=1)],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [256, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 384])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "bias_rows")])
    path = tmp_path / "g.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.save(model, str(path))
    x = rng.normal(size=(256, 256)).astype(np.float32)
    before = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    assert store_weights_compact(path) == {"int8_per_column": 1, "fp16": 1}
    stored = {i.name: i.data_type for i in onnx.load(str(path)).graph.initializer}
    assert stored["w.int8"] == TensorProto.INT8 and stored["bias_rows.fp16"] == TensorProto.FLOAT16
    after = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    cos = float((before * after).sum() / (np.linalg.norm(before) * np.linalg.norm(after)))
    assert cos > 0.9999 and not np.allclose(before, after, atol=0)  # rounded, and only by that


def _byte_level_vocab() -> dict[str, int]:
    """A minimal RoBERTa byte-level vocabulary (no DistilRoBERTa files exist offline)."""
    visible = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    vocab, extra = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}, 0
    for b in range(256):
        if b in visible:
            vocab[chr(b)] = len(vocab)
        else:
            vocab[chr(256 + extra)] = len(vocab)
            extra += 1
    vocab["<mask>"] = len(vocab)
    return vocab


@pytest.mark.slow
def test_official_shaped_model_exports(tmp_path):
    """clamp-small-512's exact shapes (random weights, official folder layout) export, verify
    and run through the ONNX backend like the torch model."""
    from clamp_core import Clamp
    from clamp_core.model.checkpoint import create_model, load_model, save_model
    from clamp_core.model.config import preset

    folder = tmp_path / "clamp-small-512"
    save_model(create_model(preset("clamp-small-512"), seed=0), folder)
    (folder / "vocab.json").write_text(json.dumps(_byte_level_vocab()))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    bundle = tmp_path / "bundle"
    res = _cli(str(folder), "-o", str(bundle))
    assert res.returncode == 0, res.stderr[-3000:]
    m = _manifest(bundle)
    assert m["verified"] and m["tokenizer"]["unidecode"] is True
    assert m["parity"]["fp32"]["worst"]["music"]["min_cosine"] > 0.99999
    onnx_clamp = Clamp.load(str(bundle))
    torch_clamp = Clamp(load_model(folder), str(folder))
    texts = ["a jig in D major", "Étude für Klavier"]  # unidecode applies to both
    assert np.abs(onnx_clamp.encode_texts(texts) - torch_clamp.encode_texts(texts)).max() < 1e-4
    abc = (FIXTURES / "abc" / "wikimt_sample.abc").read_text()
    assert np.abs(onnx_clamp.encode_abc([abc]) - torch_clamp.encode_abc([abc])).max() < 1e-4


def test_quality_scores_the_test_split_with_prompts_from_the_train_split():
    from clamp_core.evaluation.tasks import task_sets

    def song(i, split, region, detail):
        return {"id": str(i), "split": split, "abc": "X:1\nK:C\nCDEF|\n",
                "labels": {"collection": "essen", "region": region, "region_detail": detail}}

    recs = ([song(i, "train", "china", "china, shaanxi, yanchang") for i in range(3)]
            + [song(i, "train", "other", "europa, irland") for i in range(3, 5)]
            + [song(i, "test", r, d) for i, (r, d) in enumerate(
                [("china", "china, shaanxi")] * 3 + [("other", "europa, irland")] * 3, 10)])
    (task, scored, prompts), = task_sets(recs)
    assert (task.name == "essen_region" and {r["split"] for r in scored} == {"test"}
            and len(scored) == 6)
    assert prompts == {"china": ["a folk song from China"], "other": ["a folk song from Ireland"]}


def test_clamp_evaluate_reads_a_bundle_as_it_reads_the_model_folder(default_bundle, tmp_path):
    """One evaluation for every backend: the bundle's report equals the torch model's."""
    from clamp_core.evaluation import evaluate

    recs = _tune_type_records()
    data = tmp_path / "tunes.jsonl"
    with data.open("w") as f:
        for i, r in enumerate(recs):
            split = ("train", "test")[i % 2]
            f.write(json.dumps({**r, "id": str(i), "split": split, "meta": {"title": None},
                                "texts": [f"an Irish {r['labels']['tune_type_coarse']}",
                                          "a fiddle tune"]}) + "\n")
    onnx_res = evaluate(str(default_bundle), data, max_probe=50)
    torch_res = evaluate("default", data, max_probe=50)
    a, b = onnx_res["tasks"]["tune_type"], torch_res["tasks"]["tune_type"]
    assert a["n_test"] == b["n_test"] > 10
    assert a["zero_shot"]["accuracy"] == pytest.approx(b["zero_shot"]["accuracy"], abs=0.05)
    assert onnx_res["retrieval"]["text_to_music"]["mrr"] == pytest.approx(
        torch_res["retrieval"]["text_to_music"]["mrr"], abs=0.05)
    # the bundle carries the model folder's calibration, so both report it alike
    assert (onnx_res["calibration"] is None) == (torch_res["calibration"] is None)
