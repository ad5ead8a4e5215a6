"""A calibration for the bridge tests, made of real embeddings of the shipped model (the default
model's own calibration is set aside in these tests, bridge_util.shared_clamp):

- the novelty reference holds one real tune (tests/fixtures/scores/small.mid) and the threshold
  sits halfway between that tune's own cosine (1) and the Lied "An eine Blume"'s nearest cosine:
  the Lied is out of domain, the tune is not;
- temperature 2 (flatter probabilities than the raw softmax), the genres facet always stated and
  no other, a bank of two real descriptions, a relevance map and a "no good match" level of 1
  (no hit reaches it, so every search says nothing matches well).
"""

from __future__ import annotations

import shutil

import pytest
from bridge_util import SCORES, shared_clamp

FAMILIAR = "small.mid"           # in the novelty reference
UNFAMILIAR = "lieder_6053984.mxl"  # far from it
RELEVANCE = {"slope": 12.0, "intercept": -3.0, "no_match": 1.0}


def make_calibration():
    from clamp_core.calibration import Calibration

    clamp = shared_clamp()
    reference = clamp.encode_scores([SCORES / FAMILIAR])
    lied = clamp.encode_scores([SCORES / UNFAMILIAR])[0]
    nearest = float((reference @ lied).max())
    assert nearest < 0.95, "the Lied must be far from the reference tune for these tests"
    bank = ["a German art song for voice and piano", "an Irish reel for solo fiddle"]
    return Calibration(
        fingerprint=clamp.fingerprint, temperature=2.0, facet_thresholds={"genres": 0.0},
        ood_threshold=round((nearest + 1) / 2, 4), relevance=dict(RELEVANCE),
        report={"made_by": "tests/musescore_bridge/bridge_calibration.py"}, reference=reference,
        bank_texts=bank, bank_vectors=clamp.encode_texts(bank), bank_sources=["bank-0", "bank-1"])


# Fixtures: a test module takes them with `calibration = bridge_calibration.calibration` (a
# conftest.py here would shadow tests/conftest.py, as both import as `conftest`).
@pytest.fixture(scope="session")
def calibration():
    return make_calibration()


@pytest.fixture(scope="session")
def calibrated_clamp(calibration):
    """The shipped model's encoder (shared, not loaded again) behind a Clamp with the
    calibration."""
    from clamp_core.api import Clamp

    clamp = Clamp(shared_clamp().encoder, "default")
    clamp.calibration = calibration
    return clamp


@pytest.fixture(scope="session")
def calibrated_model(tmp_path_factory, calibration):
    """A copy of the shipped model folder with the calibration saved in it, as `clamp calibrate`
    leaves one (for the CLI, which loads models by folder)."""
    from clamp_core.model.checkpoint import resolve_model_folder

    folder = tmp_path_factory.mktemp("calibrated") / "model"
    shutil.copytree(resolve_model_folder("default"), folder)
    calibration.save(folder)
    return folder
