"""Calibration: fitted on real tunes of the music21 corpus with the shipped model, saved into a
model folder, read back by Clamp (probabilities, novelty, relevance, captions)."""

import json
import shutil

import numpy as np
import pytest

from clamp_core import Clamp
from clamp_core.calibration import CALIBRATION_JSON, Calibration
from clamp_core.evaluation import calibrate as C


def _records() -> list[dict]:
    """Ryan's Mammoth tunes (tune type from R:) and Essen songs: real ABC, real labels."""
    from music21 import corpus

    from clamp_core.datasets.labels import tune_type, tune_type_coarse
    from clamp_core.notation.header_filter import filter_abc_header

    recs = []
    for path in sorted(corpus.getComposer("ryansMammoth"))[:160]:
        text = path.read_text(encoding="latin-1")
        r_line = next((ln for ln in text.splitlines() if ln.startswith("R:")), None)
        tt = tune_type(r_line[2:].strip()) if r_line else None
        if tt in ("reel", "jig", "hornpipe", "strathspey") and len(recs) < 90:
            recs.append({"abc": filter_abc_header(text), "labels": {
                "collection": "ryans", "tune_type": tt, "tune_type_coarse": tune_type_coarse(tt),
                "genre": "fiddle tune", "era": "folk"},
                "texts": [f"a {tt} for fiddle", "an Irish fiddle tune"]})
    essen = corpus.parse("essenFolksong/han1").scores[:60]
    from clamp_core.notation import stream_to_abc

    for s in essen:
        recs.append({"abc": stream_to_abc(s), "labels": {
            "collection": "essen", "genre": "folk song", "era": "folk"},
            "texts": ["a Chinese folk song", "a folk song from Shaanxi"]})
    for i, r in enumerate(recs):
        r["id"] = str(i)
        r["split"] = ("train", "train", "val", "test")[i % 4]
        r["meta"] = {"title": None}
    return recs


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    clamp = Clamp.load("default", precision="fp32")
    clamp.calibration = Calibration.missing()  # raw probabilities, whatever the folder carries
    recs = _records()
    train = [r for r in recs if r["split"] == "train"]
    val = [r for r in recs if r["split"] == "val"]
    cal = C.fit(clamp.encoder, train, val, reference_size=64, bank_size=50)
    return clamp, recs, cal


def test_temperature_minimises_validation_nll(fitted):
    clamp, recs, cal = fitted
    val = [r for r in recs if r["split"] == "val"]

    def music(rs):
        return clamp.encoder.encode_abc([r["abc"] for r in rs])

    train = [r for r in recs if r["split"] == "train"]
    tasks = C.zero_shot_scores(clamp.encoder, train, val, music)
    names = {t.name for t in tasks}
    assert {"tune_type", "facet:genres", "facet:tune_types"} <= names
    scale = clamp.logit_scale
    others = [t for t in tasks if not t.name.startswith("facet:")]
    ece = C.pooled_reliability(others, scale / cal.temperature)["ece"]
    for other in (1.0, cal.temperature * 1.5, cal.temperature / 1.5):
        assert ece <= C.pooled_reliability(others, scale / other)["ece"] + 0.002
    t_nll = C.fit_temperature(others, scale, objective="nll")
    # the lowest NLL within the searched range (0.05-25): a model that ranks every val work
    # right has its NLL optimum at the range's edge
    rivals = [t for t in (1.0, t_nll * 1.2, t_nll / 1.2) if 0.05 <= t <= 25.0]
    assert len(rivals) >= 2
    for other in rivals:
        assert C.nll(others, scale, t_nll) <= C.nll(others, scale, other) + 1e-9
    # every built-in facet set the val labels can check has a temperature of its own, used
    # whenever a caller ranks exactly that set's labels
    sets = cal.label_set_temperatures
    assert {"genres", "tune_types"} <= set(sets)
    for entry in sets.values():
        assert cal.temperature_for(list(reversed(entry["labels"]))) == entry["temperature"]
    assert cal.temperature_for(["reel", "jig"]) == cal.temperature


def test_reliability_and_facet_threshold_on_known_values():
    conf = np.array([0.95, 0.9, 0.85, 0.8, 0.6, 0.55, 0.5, 0.3])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    rel = C.reliability(conf, correct, bins=2)
    # bins 0-0.5 (0.3: wrong) and 0.5-1 (7 answers, 5 right)
    assert rel["n"] == 8 and len(rel["table"]) == 2
    expected = (1 / 8) * abs(0 - 0.3) + (7 / 8) * abs(5 / 7 - conf[:7].mean())
    assert rel["ece"] == pytest.approx(expected)
    # the four most confident are all right: 0.8 is the lowest threshold keeping precision 1.0
    assert C.facet_threshold(conf, correct, target=1.0, min_stated=2) == 0.8
    # 5 of the 6 most confident are right (0.83): with target 0.8 the threshold drops to 0.55
    assert C.facet_threshold(conf, correct, target=0.8, min_stated=2) == 0.55
    assert C.facet_threshold(conf, correct, target=0.8, min_stated=9) is None
    stated = C.stated_precision(conf, correct, 0.8)
    assert stated["coverage"] == 0.5 and stated["precision"] == 1.0
    # one bar for each answer; NaN: that answer is never stated
    stated = C.stated_precision(conf, correct, np.array([0.9] * 4 + [np.nan] * 4))
    assert stated["coverage"] == 0.25 and stated["precision"] == 1.0


def test_each_frequent_answer_gets_its_own_threshold():
    """A reliable answer is stated from a lower confidence than the facet's single threshold
    allows; an answer that is mostly wrong is never stated; a rare one keeps the facet's."""
    rng = np.random.default_rng(0)
    classes = ["fiddle tune", "art song", "mazurka"]
    answer = np.array([0] * 40 + [1] * 40 + [2] * 5)
    truth = answer.copy()
    truth[40:70] = 0  # "art song" said of 30 fiddle tunes: right 10 times in 40
    confidence = np.concatenate([rng.uniform(0.3, 0.6, 40), rng.uniform(0.6, 0.9, 40),
                                 rng.uniform(0.3, 0.9, 5)])
    own = C.label_thresholds(classes, confidence, answer, truth, min_stated=20)
    assert set(own) == {"fiddle tune", "art song"}  # the mazurka was answered 5 times
    assert own["fiddle tune"] == pytest.approx(confidence[:40].min())  # always right
    assert own["art song"] is None
    facet = C.facet_threshold(confidence, answer == truth, min_stated=20)
    assert facet is None or facet > own["fiddle tune"]
    cal = Calibration(facet_thresholds={"genres": 0.7}, label_thresholds={"genres": own})
    assert cal.facet_threshold("genres", "fiddle tune") == own["fiddle tune"]
    assert cal.facet_threshold("genres", "art song") is None
    assert cal.facet_threshold("genres", "mazurka") == cal.facet_threshold("genres") == 0.7


def test_relevance_fit_is_increasing_in_cosine():
    rng = np.random.default_rng(0)
    cos = rng.uniform(0, 0.5, 4000)
    relevant = rng.uniform(size=4000) < 1 / (1 + np.exp(-(20 * cos - 6)))
    fit = C.fit_relevance(cos, relevant)
    assert fit["slope"] == pytest.approx(20, rel=0.25)
    assert fit["intercept"] == pytest.approx(-6, rel=0.25)


def test_saved_calibration_is_used_by_clamp(fitted, tmp_path):
    clamp, recs, cal = fitted
    from clamp_core.model.checkpoint import resolve_model_folder

    folder = tmp_path / "model"
    shutil.copytree(resolve_model_folder("default"), folder)
    cal.save(folder)
    data = json.loads((folder / CALIBRATION_JSON).read_text())
    assert data["fingerprint"] == clamp.fingerprint and data["temperature"] == cal.temperature
    calibrated = Clamp.load(str(folder), precision="fp32")
    assert calibrated.calibration.fitted and calibrated.calibration.temperature == cal.temperature
    assert set(cal.label_thresholds) == set(cal.facet_thresholds)  # every facet was looked at
    assert calibrated.calibration.label_thresholds == cal.label_thresholds
    tune = recs[3]["abc"]
    labels = ["reel", "jig", "hornpipe"]
    music = clamp.encode_abc([tune])[0]
    raw = dict(clamp.rank_labels(music, labels))
    got = dict(calibrated.rank_labels(music, labels))
    protos = clamp.label_embeddings(labels)
    logits = (clamp.logit_scale / cal.temperature) * (protos @ music)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert [got[x] for x in labels] == pytest.approx(expected.tolist(), abs=1e-5)
    if abs(cal.temperature - 1) > 0.05:
        assert [got[x] for x in labels] != pytest.approx([raw[x] for x in labels], abs=1e-3)
    # a training work of the reference is its own nearest neighbour: familiar
    ref_work = next(r for r in recs if r["split"] == "train")
    nov = calibrated.novelty(ref_work["abc"])
    assert nov.nearest is not None and not nov.unfamiliar
    # the bank never offers a work's own text
    cap = calibrated.caption(ref_work["abc"])
    assert cap.novelty is not None and cap.to_dict()["novelty"]["out_of_domain"] is False
    assert set(cap.stated) | set(cap.unsure) <= {"genres", "tune_types", "ensembles", "eras",
                                                  "moods"}
    assert "moods" in cap.unsure  # no labels on val: never stated
    # weights other than the ones it was fitted for: ignored
    other = dict(data, fingerprint="0" * 16)
    (folder / CALIBRATION_JSON).write_text(json.dumps(other))
    assert not Clamp.load(str(folder), precision="fp32").calibration.fitted


def test_val_novelty_rate_is_the_chosen_quantile(fitted):
    clamp, recs, cal = fitted
    val = [r for r in recs if r["split"] == "val"]
    near = cal.nearest(clamp.encoder.encode_abc([r["abc"] for r in val]))
    assert (near < cal.ood_threshold).mean() <= C.OOD_QUANTILE + 1 / len(val)
    assert cal.report["reference_collections"].keys() == {"ryans", "essen"}


def test_missing_calibration_leaves_answers_raw(tmp_path):
    cal = Calibration.load(tmp_path)
    assert not cal.fitted and cal.temperature == 1.0
    assert cal.novelty(np.ones(4)).unfamiliar is False and cal.relevance_of(0.3) == 0.3
