"""Packaging a trained model: fp16 copy without the locked text tower, and its model card."""

import json
import subprocess
import sys

import numpy as np

from clamp_core.model.checkpoint import DEFAULT_MODEL_DIR, create_model, load_model, save_model
from clamp_core.model.config import preset
from clamp_core.runtime.torch_encoder import encode_abc


def test_packaged_copy_is_fp16_small_and_close(tmp_path, wikimt):
    src, dst = tmp_path / "src", tmp_path / "dst"
    model = create_model(preset("tiny"), seed=0)
    save_model(model, src)
    quality = {"tasks": {},
               "retrieval": {"text_to_music": {"n": 3, "mrr": 0.5, "hit@1": 0.3, "hit@10": 1.0},
                             "random": {"n": 3, "mrr": 0.6, "hit@1": 0.33, "hit@10": 1.0}}}
    (tmp_path / "q.json").write_text(json.dumps(quality))
    res = subprocess.run([sys.executable, "-m", "clamp_core.training.model_card",
                          str(src), str(dst),
                          "--quality", str(tmp_path / "q.json"), "--recipe", "clamp train x"],
                         check=False, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    card = (dst / "README.md").read_text()
    assert "clamp train x" in card and "text -> music" in card and "2 layers, hidden 64" in card
    from safetensors.torch import load_file

    weights = load_file(dst / "model.safetensors")
    assert all(not k.startswith("text_enc.") for k in weights)
    assert {str(v.dtype) for v in weights.values() if v.is_floating_point()} == {"torch.float16"}
    abcs = [r["abc"] for r in wikimt[:4]]
    a, b = encode_abc(load_model(dst), abcs), encode_abc(model.eval(), abcs)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.999


def test_default_model_loads_when_shipped():
    from clamp_core import Clamp, ClampError

    if (DEFAULT_MODEL_DIR / "config.json").is_file():
        clamp = Clamp.load("default")
        assert clamp.encode_texts(["a jig"]).shape == (1, clamp.dim)
        assert (DEFAULT_MODEL_DIR / "model.safetensors").stat().st_size < 32 * 2**20
    else:
        import pytest

        with pytest.raises(ClampError, match="default model is not part"):
            Clamp.load("default")
