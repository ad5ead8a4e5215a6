"""Fixtures of a calibrated shipped model (see bridge_calibration.py)."""

from __future__ import annotations

import shutil

import pytest
from bridge_calibration import make_calibration
from bridge_util import shared_clamp


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
