"""A calibrated copy of the shipped model for the widget tests: ``clamp_core.evaluation.calibrate``
fitted on real tunes of the music21 corpus (Ryan's Mammoth fiddle tunes with their tune types,
Essen folk songs), saved into a copy of the default model folder and loaded back as any user's
calibrated model would be. The fiddle tunes of the test library (jupyter_helpers.library_files)
are left out of the fit, so their familiarity is earned, not copied."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

RYANS_IN_LIBRARY = 8  # library_files takes the first 8 of Ryan's Mammoth


def corpus_records(n_fiddle: int = 120, n_songs: int = 30) -> list[dict]:
    """Dataset records (train 2/3, val 1/3) of real corpus tunes with real labels."""
    from music21 import corpus

    from clamp_core.datasets.labels import tune_type, tune_type_coarse
    from clamp_core.notation import stream_to_abc
    from clamp_core.notation.header_filter import filter_abc_header

    recs: list[dict] = []
    for path in sorted(corpus.getComposer("ryansMammoth"))[RYANS_IN_LIBRARY:]:
        if len(recs) >= n_fiddle:
            break
        text = path.read_text(encoding="latin-1")
        rhythm = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("R:")), None)
        kind = tune_type(rhythm) if rhythm else None
        if kind in ("reel", "jig", "hornpipe", "strathspey"):
            recs.append({"abc": filter_abc_header(text), "labels": {
                "collection": "ryans", "tune_type": kind,
                "tune_type_coarse": tune_type_coarse(kind), "genre": "fiddle tune", "era": "folk"},
                "texts": [f"a {kind} for fiddle", f"a fiddle {kind}"]})
    for song in corpus.parse("essenFolksong/han1").scores[:n_songs]:
        recs.append({"abc": stream_to_abc(song), "labels": {
            "collection": "essen", "genre": "folk song", "era": "folk"},
            "texts": ["a Chinese folk song", "a folk song from Shaanxi"]})
    for i, r in enumerate(recs):
        r.update(id=str(i), split=("train", "train", "val")[i % 3], meta={"title": None})
    return recs


@pytest.fixture(scope="session")
def calibrated_model(tmp_path_factory, default_clamp) -> Path:
    """A copy of the default model folder with a fitted calibration.json / .npz."""
    from clamp_core.evaluation import calibrate
    from clamp_core.model.checkpoint import resolve_model_folder

    folder = tmp_path_factory.mktemp("calibrated") / "model"
    shutil.copytree(resolve_model_folder("default"), folder)
    recs = corpus_records()
    train = [r for r in recs if r["split"] == "train"]
    val = [r for r in recs if r["split"] == "val"]
    cal = calibrate.fit(default_clamp.encoder, train, val, reference_size=len(train))
    cal.save(folder)
    return folder


@pytest.fixture(scope="session")
def calibrated_clamp(calibrated_model):
    from clamp_core import Clamp

    clamp = Clamp.load(str(calibrated_model), precision="fp32")  # margins hold on any CPU
    assert clamp.calibration.fitted and clamp.calibration.relevance
    return clamp
