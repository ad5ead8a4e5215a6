"""Fixtures of the robustness campaign: the hostile corpus and a tiny model, built once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # corpus.py, shared with bench/robustness.py

import corpus


@pytest.fixture(scope="session")
def hostile(tmp_path_factory) -> tuple[list[tuple[corpus.Case, Path]], Path, Path]:
    """(case, path) pairs of the written corpus, the corpus folder and the secret file."""
    folder = tmp_path_factory.mktemp("hostile") / "corpus with spaces é"
    written, secret = corpus.write_corpus(folder)
    return written, folder, secret


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    folder = tmp_path_factory.mktemp("tiny-model") / "tiny"
    save_model(create_model(preset("tiny"), seed=0), folder)
    return folder
