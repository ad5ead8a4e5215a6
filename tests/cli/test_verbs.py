"""The `clamp` CLI end to end on real files: outputs, one-line errors and exit codes."""

import json

import numpy as np
import pytest
from conftest import FIXTURES

SCORES = FIXTURES / "scores"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    folder = tmp_path_factory.mktemp("model") / "tiny"
    save_model(create_model(preset("tiny"), seed=0), folder)
    return folder


def _one_line_error(res) -> str:
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr
    return "\n".join(lines)


def test_abc_prints_model_ready_abc(run_clamp):
    out = run_clamp("abc", str(SCORES / "lieder_6053984.mxl")).stdout
    assert "K:F" in out and "M:6/8" in out and "\nV:1\n" in out
    assert "T:" not in out  # titles never reach the model


def test_info_json(run_clamp):
    res = run_clamp("info", str(SCORES / "lieder_6053984.mxl"), str(SCORES / "two_tunes.abc"),
                    "--json")
    data = json.loads(res.stdout)
    assert next(s["meter"] for s in data["scores"]) == "6/8"
    assert data["failures"] == []


def test_encode_writes_features_and_skips_bad_files(run_clamp, tiny_model, tmp_path):
    bad = tmp_path / "broken.mxl"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path / "f.npy"
    files = [str(SCORES / "lieder_6053984.mxl"), str(bad), str(SCORES / "small.mid"),
             str(tmp_path / "missing.xml"), str(SCORES / "little_tune.krn")]
    res = run_clamp("encode", *files, "--model", str(tiny_model), "--out", str(out), check=False)
    assert res.returncode == 3  # partial success
    errors = [ln for ln in _one_line_error(res).splitlines() if ln.startswith("clamp: skipped")]
    assert len(errors) == 2 and "broken.mxl" in errors[0] and "missing.xml" in errors[1]
    feats = np.load(out)
    assert feats.shape == (3, 64) and np.isfinite(feats).all()
    index = json.loads(out.with_suffix(".json").read_text())
    assert [r["file"] for r in index["rows"]] == [files[0], files[2], files[4]]
    assert len(index["failures"]) == 2


def test_single_bad_inputs_give_one_line_errors(run_clamp, tiny_model, tmp_path):
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(bytes(range(256)) * 10)
    for args in (["info", str(garbage)], ["abc", str(tmp_path / "nope.mid")],
                 ["abc", str(tmp_path / "x.pdf")],
                 ["encode", str(SCORES / "small.mid"), "--model", str(tmp_path / "no-model")],
                 ["encode", str(SCORES / "small.mid"), "--model", "someone/some-model"]):
        res = run_clamp(*args, check=False)
        assert res.returncode == 1, (args, res.stderr)
        msg = _one_line_error(res)
        assert len(msg.splitlines()) == 1 and msg.startswith("Error:"), msg


def test_init_model_refuses_to_overwrite(run_clamp, tmp_path):
    run_clamp("init-model", str(tmp_path / "m"), "--preset", "tiny")
    assert (tmp_path / "m" / "model.safetensors").is_file()
    res = run_clamp("init-model", str(tmp_path / "m"), "--preset", "tiny", check=False)
    assert res.returncode == 1 and "--force" in res.stderr
