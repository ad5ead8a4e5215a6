"""`clamp search/similar --where`: filters on stored facts through the real CLI."""

import json
import shutil

import pytest
from conftest import FIXTURES

SCORES = FIXTURES / "scores"


@pytest.fixture(scope="module")
def library(tmp_path_factory, run_clamp):
    root = tmp_path_factory.mktemp("lib")
    for name in ("lieder_5071622.mxl", "lieder_6181050.mxl", "two_tunes.abc", "little_tune.krn"):
        shutil.copy(SCORES / name, root / name)
    idx = tmp_path_factory.mktemp("idx") / "index"
    res = run_clamp("index", str(root), "--index", str(idx))
    assert res.returncode == 0, res.stderr
    return idx


def test_search_and_similar_keep_only_what_passes(library, run_clamp):
    res = run_clamp("search", "a song", "--index", str(library), "--json",
                    "--where", "lyrics=yes", "--where", "composer=brahms")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["where"] == ["lyrics=yes", "composer=brahms"]
    assert [h["composer"] for h in out["results"]] == ["Johannes Brahms"]
    res = run_clamp("similar", str(SCORES / "two_tunes.abc"), "--index", str(library), "--json",
                    "--where", "metre=3/4")
    assert res.returncode == 0, res.stderr
    assert {h["meta"]["meter"] for h in json.loads(res.stdout)["results"]} == {"3/4"}
    res = run_clamp("search", "a song", "--index", str(library), "--where", "composer=nobody")
    assert res.returncode == 0 and "no score in the index passes composer=nobody" in res.stdout


def test_a_bad_filter_is_one_line_before_the_model_loads(library, run_clamp):
    res = run_clamp("search", "a song", "--index", str(library), "--where", "colour=red",
                    check=False)
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    assert "no field 'colour'" in res.stderr and "composer" in res.stderr
