"""The default model ships twice: fp16 weights for torch and an int8 ONNX bundle beside them
(clamp_core/resources/default_model/onnx) for the torch-free install. Both must be the same
model: same fingerprint and calibration, the same answers within int8's tolerance, and the
backend of "default" chosen by what is installed (CLAMP_BACKEND pins it)."""

import json

import numpy as np
import pytest
from conftest import FIXTURES

from clamp_core import Clamp, ClampError
from clamp_core.resources import DEFAULT_BUNDLE_DIR, DEFAULT_MODEL_DIR
from clamp_core.runtime.loading import default_backend

pytest.importorskip("onnxruntime")

SCORES = [FIXTURES / "scores" / n for n in ("lieder_5071622.mxl", "two_tunes.abc",
                                             "little_tune.krn", "small.mid")]
TEXTS = ["a lively jig in D", "a slow air", "a song for voice and piano in a minor key",
         "Mazurka in A minor for piano", "a chorale harmonised for four voices"]


@pytest.fixture(scope="module")
def pair():
    # torch in fp32: the trained model itself, whatever the CPU runs fast
    return (Clamp.load("default", backend="onnx"),
            Clamp.load("default", backend="torch", precision="fp32"))


def test_the_shipped_bundle_is_verified_int8_beside_the_weights():
    manifest = json.loads((DEFAULT_BUNDLE_DIR / "manifest.json").read_text())
    assert manifest["verified"] is True and set(manifest["variants"]) == {"int8"}
    for tower in ("music", "text"):
        cal = manifest["quantisation"]["int8"][f"{tower}_calibration"]
        assert cal["min_cosine"] >= cal["target"]
        assert (DEFAULT_BUNDLE_DIR / manifest["variants"]["int8"][tower]).is_file()
    # the calibration is the model folder's own, not a copy that could drift from it
    assert not (DEFAULT_BUNDLE_DIR / "calibration.json").exists()
    assert (DEFAULT_MODEL_DIR / "calibration.json").is_file()


def test_both_backends_are_the_same_model(pair):
    onnx_c, torch_c = pair
    assert onnx_c.backend == "onnx" and torch_c.backend == "torch"
    assert onnx_c.fingerprint == torch_c.fingerprint  # indexes built by either serve the other
    assert onnx_c.calibration.fitted and torch_c.calibration.fitted
    assert onnx_c.calibration.temperature == torch_c.calibration.temperature
    assert abs(onnx_c.logit_scale - torch_c.logit_scale) < 1e-3


def test_both_backends_give_the_same_answers(pair):
    onnx_c, torch_c = pair
    paths = [str(p) for p in SCORES]
    m_onnx, m_torch = onnx_c.encode_scores(paths), torch_c.encode_scores(paths)
    assert np.min(np.sum(m_onnx * m_torch, axis=1)) > 0.995
    t_onnx, t_torch = onnx_c.encode_texts(TEXTS), torch_c.encode_texts(TEXTS)
    assert np.min(np.sum(t_onnx * t_torch, axis=1)) > 0.99
    # text -> music similarities within 0.02, so rankings agree wherever torch's gap is wider
    s_onnx, s_torch = t_onnx @ m_onnx.T, t_torch @ m_torch.T
    assert np.abs(s_onnx - s_torch).max() < 0.02
    top2 = np.sort(s_torch, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.04
    assert clear.any()
    assert (s_onnx.argmax(1) == s_torch.argmax(1))[clear].all()
    labels = ["jig", "reel", "waltz", "song for voice and piano", "chorale"]
    for path in paths:
        a, b = dict(onnx_c.classify(path, labels)), dict(torch_c.classify(path, labels))
        first, second = sorted(b.values())[-2:][::-1]
        if first - second > 0.15:  # a near tie may flip, as it does between torch fp32 and bf16
            assert max(a, key=a.get) == max(b, key=b.get)
        # the int8 text tower moves a label's cosine by a few thousandths; the calibrated
        # temperature (0.80) makes softmax sharper, so near a tie that is a few hundredths
        assert max(abs(a[k] - b[k]) for k in labels) < 0.08  # measured: at most 0.063 (v6)


def test_backend_of_default_follows_what_is_installed_or_the_environment(monkeypatch):
    monkeypatch.delenv("CLAMP_BACKEND", raising=False)
    assert default_backend() == "torch"  # this environment has the training extra
    monkeypatch.setenv("CLAMP_BACKEND", "onnx")
    c = Clamp.load("default")
    assert c.backend == "onnx" and c.precision == "int8"
    # a model folder carrying its bundle follows the same rule as "default"
    assert Clamp.load(str(DEFAULT_MODEL_DIR)).backend == "onnx"
    monkeypatch.setenv("CLAMP_BACKEND", "tensorflow")
    with pytest.raises(ClampError, match="CLAMP_BACKEND must be 'torch' or 'onnx'"):
        Clamp.load("default")


def test_fp32_is_not_in_the_shipped_bundle_and_says_where_it_is():
    with pytest.raises(ClampError, match=r"clamp-notation\[train\]"):
        Clamp.load("default", backend="onnx", precision="fp32")
