"""Shared pieces of the jupyter_ext tests: the default model, a small real library index, and a
headless Debian chromium driven by Playwright (never a browser that Playwright downloads)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots; gitignored, kept after the run
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def chromium_or_skip(module_level: bool = False) -> str:
    """The chromium binary, or a skip that says how to get it (CI installs it)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no chromium at {CHROMIUM}: install Debian's `chromium` package "
                    "(apt-get install chromium) or set CHROMIUM=/path/to/chromium",
                    allow_module_level=module_level)
    pytest.importorskip("playwright.sync_api", reason="pip install 'clamp-notation[test]'")
    return CHROMIUM


def is_local(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme in ("blob", "data", "about") or parts.hostname in LOCAL_HOSTS


def library_files(dest: Path) -> Path:
    """A small mixed library: 8 fiddle tunes and a Bach chorale from the music21 corpus, our
    two-tune ABC file and a Lied (voice and piano) from the fixtures."""
    from music21 import corpus

    dest.mkdir(parents=True, exist_ok=True)
    picks = sorted(corpus.getComposer("ryansMammoth"))[:8]
    picks += [next(p for p in sorted(corpus.getComposer("bach")) if p.name == "bwv1.6.mxl")]
    picks += [FIXTURES / "scores" / "two_tunes.abc", FIXTURES / "scores" / "lieder_6053984.mxl"]
    for p in picks:
        shutil.copyfile(p, dest / Path(p).name)
    return dest


@pytest.fixture(scope="session")
def default_clamp():
    from clamp_core import Clamp
    from clamp_core.calibration import Calibration

    clamp = Clamp.load("default", precision="fp32")  # the same vectors on every CPU
    clamp.calibration = Calibration.missing()  # plain answers; calibrated tests install their own
    return clamp


@pytest.fixture(scope="session")
def small_index(tmp_path_factory, default_clamp) -> Path:
    """An index of ``library_files`` built with the default model (in this process)."""
    from clamp_core.index.library import build_index

    root = tmp_path_factory.mktemp("jupyter_library")
    library = library_files(root / "library")
    report = build_index(library, root / "index", default_clamp, workers=0, progress=False)
    assert report.entries >= 11 and report.failed == 0, report
    return root / "index"
