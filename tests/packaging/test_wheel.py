"""The wheel is the product: built from this tree, installed (not editable) with plain pip into a
fresh venv, it must run the everyday verbs on the shipped ONNX bundle with no torch anywhere,
install the MuseScore plugin and import the widgets."""

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES

from clamp_core import Clamp

REPO = Path(__file__).resolve().parents[2]
SCORE = FIXTURES / "scores" / "lieder_5071622.mxl"
LABELS = ["chorale", "reel", "waltz", "song for voice and piano"]
MAX_WHEEL_BYTES = 60 * 2**20
# the plugin as the source tree has it (QML, its script, the thumbnail)
PLUGIN_FILES = sorted(p.name for p in (REPO / "musescore_bridge" / "plugin").iterdir()
                      if p.is_file() and p.suffix in (".qml", ".js", ".png"))


def _run(args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900,
                          check=False, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel path, venv bin folder, environment) of a wheel of this tree in a fresh venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    # no build isolation: the setuptools of this environment builds it, nothing is downloaded
    res = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                "-w", tmp / "dist", REPO])
    assert res.returncode == 0, res.stderr[-3000:]
    wheel = next((tmp / "dist").glob("clamp_notation-*.whl"))
    venv.EnvBuilder(with_pip=True).create(tmp / "venv")
    bin_dir = tmp / "venv" / "bin"
    res = _run([bin_dir / "python", "-m", "pip", "install", "--quiet", f"{wheel}[jupyter]"])
    assert res.returncode == 0, res.stderr[-3000:]
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CLAMP_BACKEND")}
    env.update(HF_HUB_OFFLINE="1", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return wheel, bin_dir, env


def test_wheel_holds_the_model_bundle_the_plugin_and_the_licence(installed):
    wheel = installed[0]
    assert wheel.stat().st_size <= MAX_WHEEL_BYTES
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (*(f"musescore_bridge/plugin/{n}" for n in PLUGIN_FILES),
                   "clamp_core/resources/default_model/onnx/manifest.json",
                   "clamp_core/resources/default_model/calibration.json"):
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_plain_install_has_no_torch_and_runs_the_bundle(installed):
    _, bin_dir, env = installed
    probe = ("import importlib.util as u; from clamp_core import Clamp; c = Clamp.load('default');"
             "print(u.find_spec('torch') is None, u.find_spec('transformers') is None, "
             "c.backend, c.calibration.fitted)")
    res = _run([bin_dir / "python", "-c", probe], env=env, cwd=installed[0].parent)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split() == ["True", "True", "onnx", "True"]
    res = _run([bin_dir / "clamp", "--version"], env=env)
    assert res.returncode == 0 and res.stdout.strip().endswith(metadata.version("clamp-notation"))


def test_classify_and_caption_agree_with_the_torch_model(installed):
    _, bin_dir, env = installed
    res = _run([bin_dir / "clamp", "classify", SCORE, "--labels", ",".join(LABELS), "--json"],
               env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout)
    onnx_probs = {r["label"]: r["probability"] for r in got["labels"]}
    torch_probs = dict(Clamp.load("default", backend="torch", precision="fp32")
                       .classify(str(SCORE), LABELS))
    first, second = sorted(torch_probs.values())[-2:][::-1]
    if first - second > 0.15:  # a near tie may flip, as it does between torch fp32 and bf16
        assert max(onnx_probs, key=onnx_probs.get) == max(torch_probs, key=torch_probs.get)
    assert max(abs(onnx_probs[k] - torch_probs[k]) for k in LABELS) < 0.06
    res = _run([bin_dir / "clamp", "caption", SCORE, "--json"], env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    cap = json.loads(res.stdout)
    assert "Brahms" in cap["text"] and "F# minor" in cap["text"]


def test_musescore_install_and_widgets_from_the_wheel(installed, tmp_path):
    _, bin_dir, env = installed
    res = _run([bin_dir / "clamp", "musescore", "install", "--dir", tmp_path], env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    installed_files = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert set(PLUGIN_FILES) <= installed_files
    res = _run([bin_dir / "python", "-c",
                "import anywidget, jupyter_ext; print(*sorted(jupyter_ext.__all__))"], env=env,
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert {"ClampSearch", "ClampClassify", "ClampCaption"} <= set(res.stdout.split())


def test_training_verbs_name_the_extra_they_need(installed, tmp_path):
    _, bin_dir, env = installed
    res = _run([bin_dir / "clamp", "init-model", tmp_path / "m"], env=env)
    assert res.returncode == 1
    assert "pip install 'clamp-notation[train]'" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
