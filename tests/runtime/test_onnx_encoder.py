"""The ONNX backend behind `Clamp.load`: same answers as torch, provider choice (CUDA only when
its libraries load, CPU here), precision choice, and a venv without torch that runs a bundle."""

import importlib.metadata as md
import json
import os
import subprocess
import venv
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

from clamp_core import Clamp, ClampError
from clamp_core.runtime.providers import CPU, CUDA, choose_providers, parse_device

pytest.importorskip("onnxruntime")

ABC = (FIXTURES / "abc" / "wikimt_sample.abc").read_text()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pair(default_bundle):
    return (Clamp.load(str(default_bundle), precision="fp32"),
            Clamp.load("default", precision="fp32"))


def test_auto_backend_picks_onnx_for_a_bundle_and_reports_the_provider(default_bundle, capfd):
    c = Clamp.load(str(default_bundle))  # auto device: onnxruntime-gpu lists CUDA, none loads here
    assert c.backend == "onnx" and c.model.provider == CPU and c.device == "cpu"
    assert c.precision == "int8"  # auto on CPU: the bundle's int8 graphs
    err = capfd.readouterr().err
    assert "Failed to" not in err and "CUDA" not in err  # no load-error spam without a GPU
    assert c.model.threads >= 1


def test_onnx_and_torch_give_the_same_answers(pair):
    onnx_c, torch_c = pair
    assert onnx_c.dim == torch_c.dim and abs(onnx_c.logit_scale - torch_c.logit_scale) < 1e-5
    texts = ["a lively jig in D", "a slow air", "Étude in E minor for piano, with a long melody"]
    assert np.abs(onnx_c.encode_texts(texts) - torch_c.encode_texts(texts)).max() < 1e-5
    scores = [ABC, str(FIXTURES / "abc" / "wikimt_sample.abc")]
    assert np.abs(onnx_c.encode_scores(scores) - torch_c.encode_scores(scores)).max() < 1e-5
    labels = ["jig", "reel", "waltz", "march"]
    a, b = onnx_c.classify(ABC, labels), torch_c.classify(ABC, labels)
    assert [x for x, _ in a] == [x for x, _ in b]
    assert max(abs(p - q) for (_, p), (_, q) in zip(a, b, strict=True)) < 1e-4
    assert onnx_c.classify_set(ABC, "genres")[0][0] == torch_c.classify_set(ABC, "genres")[0][0]
    # the bundle carries the model folder's calibration: the same caption either way
    cap_onnx, cap_torch = onnx_c.caption(ABC).to_dict(), torch_c.caption(ABC).to_dict()
    assert onnx_c.calibration.fitted == torch_c.calibration.fitted
    assert cap_onnx["unsure"] == cap_torch["unsure"] and cap_onnx["text"] == cap_torch["text"]
    assert ({k: v["label"] for k, v in cap_onnx["stated"].items()}
            == {k: v["label"] for k, v in cap_torch["stated"].items()})
    assert cap_onnx["novelty"]["out_of_domain"] == cap_torch["novelty"]["out_of_domain"]
    if cap_torch["sentence"]:
        assert cap_onnx["sentence"]["text"] == cap_torch["sentence"]["text"]


def test_long_pieces_average_windows_like_torch(pair):
    onnx_c, torch_c = pair
    body = "".join(line for line in ABC.splitlines(True) if not line[:2].endswith(":"))
    head = "".join(line for line in ABC.splitlines(True) if line[:2].endswith(":"))
    long_abc = head + body * 40  # beyond 512 patches: several windows
    from clamp_core.notation.patches import patchify

    assert len(patchify(long_abc, None)) > 512
    assert np.abs(onnx_c.encode_abc([long_abc, ABC])
                  - torch_c.encode_abc([long_abc, ABC])).max() < 1e-5


def test_search_and_similar_over_a_torch_built_index(pair, tmp_path, wikimt):
    from clamp_core.index.library import build_index

    onnx_c, torch_c = pair
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(6):
        (lib / f"t{i}.abc").write_text(f"X:{i}\nT:{wikimt[i]['title']}\n" + wikimt[i]["abc"])
    build_index(lib, tmp_path / "idx", torch_c, workers=0, progress=False)
    q = "a pop song"
    hits_onnx = onnx_c.search(q, tmp_path / "idx", k=6)  # same weights: the index accepts it
    hits_torch = torch_c.search(q, tmp_path / "idx", k=6)
    assert [h.path for h in hits_onnx] == [h.path for h in hits_torch]
    sim = onnx_c.similar(str(lib / "t0.abc"), tmp_path / "idx", k=3)
    assert [h.path for h in sim] == [h.path for h in torch_c.similar(str(lib / "t0.abc"),
                                                                      tmp_path / "idx", k=3)]


def test_tokenizer_matches_the_torch_tokenizer(pair):
    onnx_c, torch_c = pair
    texts = ["a jig", "Ünïcödé ♪ " * 80, "", "Bach's chorale, BWV 66.6 — four voices"]
    ours = onnx_c.model.tokenizer(texts)
    ref = torch_c.model.tokenize(texts)
    for k in ("input_ids", "attention_mask"):
        assert np.array_equal(ours[k], ref[k].numpy())


def test_precision_and_backend_choices(default_bundle, tmp_path):
    assert Clamp.load(str(default_bundle), precision="fp16").precision == "fp16"  # runs on CPU too
    assert Clamp.load(str(default_bundle), backend="onnx", device="cpu").model.provider == CPU
    with pytest.raises(ClampError, match="must be one of"):
        Clamp.load(str(default_bundle), precision="bf16")
    with pytest.raises(ClampError, match="backend must be"):
        Clamp.load(str(default_bundle), backend="tensorrt")
    with pytest.raises(ClampError, match="no ONNX bundle"):
        Clamp.load(str(tmp_path), backend="onnx")
    with pytest.raises(ClampError, match="device 'cuda'"):
        Clamp.load(str(default_bundle), device="cuda")  # no GPU here: an error, not a fallback
    only_fp32 = tmp_path / "b"
    only_fp32.mkdir()
    for p in default_bundle.rglob("*"):
        if p.is_file() and ".int8." not in p.name and ".fp16." not in p.name:
            dst = only_fp32 / p.relative_to(default_bundle)
            dst.parent.mkdir(exist_ok=True)
            os.symlink(p, dst)
    import json

    man = json.loads((default_bundle / "manifest.json").read_text())
    man["variants"] = {"fp32": man["variants"]["fp32"]}
    (only_fp32 / "manifest.json").unlink()
    (only_fp32 / "manifest.json").write_text(json.dumps(man))
    assert Clamp.load(str(only_fp32)).precision == "fp32"
    with pytest.raises(ClampError, match="clamp-export --int8"):
        Clamp.load(str(only_fp32), precision="int8")


def test_provider_selection_logic():
    both = (CUDA, CPU)
    assert choose_providers("auto", both, None, 1) == [(CUDA, {"device_id": 1}), CPU]
    assert choose_providers("auto", both, "no NVIDIA driver") == [CPU]
    assert choose_providers("auto", (CPU,), "no CUDA provider") == [CPU]
    assert choose_providers("cpu", both, None) == [CPU]
    with pytest.raises(ClampError, match="no NVIDIA driver"):
        choose_providers("cuda", both, "no NVIDIA driver")
    assert parse_device("cuda:2") == ("cuda", 2) and parse_device(None) == ("auto", 0)
    with pytest.raises(ClampError, match="cuda:N"):
        parse_device("gpu0")


def _closure(roots: list[str]) -> dict[str, md.Distribution]:
    """Installed distributions needed by ``roots`` per their metadata (extras left out)."""
    from packaging.requirements import Requirement

    seen: dict[str, md.Distribution] = {}
    todo = list(roots)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        dist = md.distribution(name)
        seen[name] = dist
        for req in dist.requires or []:
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(r.name)
    return seen


def test_bundle_runs_in_a_venv_without_torch(default_bundle, tmp_path):
    """A real venv whose site-packages hold only the runtime closure of numpy, onnxruntime(-gpu),
    tokenizers, unidecode and music21 (linked from this environment: pip has no offline cache
    here), with the repository on PYTHONPATH. torch cannot even be found there."""
    runtime = "onnxruntime-gpu" if "onnxruntime-gpu" in {
        d.metadata["Name"].lower() for d in md.distributions()} else "onnxruntime"
    dists = _closure(["numpy", runtime, "tokenizers", "unidecode", "music21"])
    assert "torch" not in dists and "transformers" not in dists
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    for dist in dists.values():
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            src = Path(dist.locate_file(top))
            if src.exists() and not (site / top).exists() and top != "__pycache__":
                os.symlink(src, site / top)
    script = f"""
import importlib.util, sys
assert importlib.util.find_spec("torch") is None, "torch must not be installed here"
import clamp_core
from clamp_core import Clamp
c = Clamp.load({str(default_bundle)!r})
abc = open({str(FIXTURES / "abc" / "wikimt_sample.abc")!r}).read()
best = c.classify(abc, ["jig", "reel", "waltz"])[0][0]
v = c.encode_texts(["a jig"]); m = c.encode_abc([abc])
assert v.shape == (1, c.dim) and m.shape == (1, c.dim)
assert "torch" not in sys.modules and "transformers" not in sys.modules
print("OK", c.backend, c.model.provider, c.precision, best)
"""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(REPO)
    res = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=300,
                         env=env, cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.startswith("OK onnx CPUExecutionProvider int8")


def test_encode_cli_runs_a_bundle_like_the_torch_model(default_bundle, run_clamp):
    score = str(FIXTURES / "scores" / "lieder_5071622.mxl")
    runs = {b: json.loads(run_clamp("encode", score, "--model", m, "--backend", b, "--json").stdout)
            for b, m in (("onnx", str(default_bundle)), ("torch", "default"))}
    onnx_f, torch_f = (np.array(runs[b]["features"][0]) for b in ("onnx", "torch"))
    assert onnx_f.shape == torch_f.shape == (runs["torch"]["dim"],)
    cos = onnx_f @ torch_f / (np.linalg.norm(onnx_f) * np.linalg.norm(torch_f))
    assert cos > 0.999  # fp32 graph on both sides; features are unnormalised
    assert abs(np.linalg.norm(onnx_f) / np.linalg.norm(torch_f) - 1) < 1e-3
