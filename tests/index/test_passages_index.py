"""Passage rows of a library index: built with the works, incremental, searched distinctly,
and reached from the API and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

from clamp_core import Clamp, ClampError
from clamp_core.index.library import Index, build_index
from clamp_core.index.passages import SAME_NOTES_WEIGHT, overlaps
from clamp_core.notation.convert import score_to_abc
from clamp_core.notation.passages import excerpt, score_bar_numbers
from clamp_core.scores.load import load_score

SONG = "lieder_6312216.mxl"  # 48 bars, voice and piano


@pytest.fixture(scope="module")
def clamp(tiny_model_dir) -> Clamp:
    return Clamp.load(str(tiny_model_dir), precision="fp32")


def _library(folder: Path) -> Path:
    folder.mkdir()
    for name in (SONG, "lieder_6053984.mxl", "two_tunes.abc", "handmade.mscx"):
        shutil.copy(FIXTURES / "scores" / name, folder / name)
    (folder / "broken.mxl").write_bytes(b"not a zip")
    # bars 17-24 of the song, copied out as a file of its own (as a user's excerpt would be)
    score = load_score(FIXTURES / "scores" / SONG)
    cut = excerpt(score_to_abc(score), 17, 24, score_bar_numbers(score.stream))
    (folder / "excerpt.abc").write_text("X:1\nT:Excerpt\n" + cut.abc, encoding="utf-8")
    return folder


def _passage_ids(index: Path) -> set[str]:
    with Index(index) as idx:
        return {e["id"] for e in idx.passages().entries() if e["status"] == "ok"}


def test_passages_built_incrementally_with_their_works(tmp_path, clamp):
    lib, index = _library(tmp_path / "lib"), tmp_path / "idx"
    with Index.create(index, clamp) as idx:
        idx.enable_passages(8, 4)
        rep = idx.update(lib, clamp, workers=0, progress=False)
    ids = _passage_ids(index)
    song = sorted(i for i in ids if i.startswith(SONG + "#"))
    assert song[0] == f"{SONG}#bars 1-8" and f"{SONG}#bars 41-48" in song
    assert len(song) == 11  # 1-8, 5-12 ... 41-48
    assert "two_tunes.abc#1#bars 0-4" in ids  # the pickup is bar 0, as music21 numbers it
    assert rep.passages == len(ids)
    with Index(index) as idx:
        fails = {f["path"].rsplit("/", 1)[-1] for f in idx.passages().failures()}
        assert fails == {"broken.mxl"}  # recorded, so it is not read again each run
    # nothing changed: nothing read
    rep = build_index(lib, index, clamp, workers=0, progress=False)
    assert (rep.parsed, rep.passages) == (0, 0)
    # a changed file's passages are replaced, a deleted file's dropped
    (lib / "lieder_6053984.mxl").unlink()
    shutil.copy(FIXTURES / "scores" / "little_tune.krn", lib / "handmade.mscx.krn")
    rep = build_index(lib, index, clamp, workers=0, progress=False)
    after = _passage_ids(index)
    assert not any(i.startswith("lieder_6053984.mxl#") for i in after)
    assert "handmade.mscx.krn#bars 1-4" in after and rep.parsed == 1


def test_passages_added_to_an_existing_index_read_its_files_once(tmp_path, clamp):
    lib, index = _library(tmp_path / "lib"), tmp_path / "idx"
    build_index(lib, index, clamp, workers=0, progress=False)
    with Index(index) as idx:
        works = idx.vectors()
        with pytest.raises(ClampError, match="--passages"):
            idx.passages()
    with Index.create(index, clamp) as idx:
        idx.enable_passages(4, 2)
        rep = idx.update(lib, clamp, workers=0, progress=False)
        with pytest.raises(ClampError, match="build a new index"):
            idx.enable_passages(8, 4)
    assert rep.parsed == 6 and rep.added == len(works)
    with Index(index) as idx:
        assert {k: v.tolist() for k, v in idx.vectors().items()} == {
            k: v.tolist() for k, v in works.items()}  # works re-read, same vectors
    assert f"{SONG}#bars 45-48" in _passage_ids(index)
    assert build_index(lib, index, clamp, workers=0, progress=False).parsed == 0


def test_similar_bars_find_the_copied_excerpt_and_not_themselves(tmp_path, clamp, run_clamp):
    lib, index = _library(tmp_path / "lib"), tmp_path / "idx"
    with Index.create(index, clamp) as idx:
        idx.enable_passages(8, 4)
        idx.update(lib, clamp, workers=0, progress=False)
    hits = clamp.similar(lib / SONG, index, k=5, passages=True, bars="17-24")
    assert hits[0].path.endswith("excerpt.abc") and hits[0].score > 0.999
    assert hits[0].same_notes == 1.0  # its notes, bar for bar
    # passages holding some of the very notes rank by cosine plus SAME_NOTES_WEIGHT x share
    ranked = [h.score + SAME_NOTES_WEIGHT * (h.same_notes or 0) for h in hits]
    assert np.all(np.diff(ranked) <= 1e-9) and all("prints" not in h.meta["passage"] for h in hits)
    assert all(not (h.path.endswith(SONG) and overlaps(h.bars, [17, 24])) for h in hits)
    for i, a in enumerate(hits):  # one answer per place in a work
        assert a.rank == i + 1 and a.bars
        for b in hits[i + 1:]:
            assert not (a.meta["passage"]["work"] == b.meta["passage"]["work"]
                        and overlaps(a.bars, b.bars))
    # the CLI: JSON bars, a table naming the bars
    out = run_clamp("similar", str(lib / SONG), "--index", str(index), "--passages",
                    "--bars", "17-24", "--json", "-k", "3", "--model", str(clamp.name))
    data = json.loads(out.stdout)
    assert data["bars"] == [17, 24]
    best = data["results"][0]
    assert best["path"].endswith("excerpt.abc") and best["bars"] == [1, 8]
    assert best["same_notes"] == 1.0
    table = run_clamp("similar", str(lib / SONG), "--index", str(index), "--passages",
                      "--bars", "17-24", "-k", "1", "--model", str(clamp.name)).stdout
    assert "bars 1-8 (same notes)" in table
    table = run_clamp("search", "a song", "--index", str(index), "--passages", "-k", "3",
                      "--model", str(clamp.name)).stdout
    assert ", bars " in table or ", bar " in table
    text_hits = clamp.search("a song", index, k=40, passages=True)
    assert len(text_hits) == len({(h.id) for h in text_hits}) and text_hits[0].relevance is None
    assert all(h.same_notes is None for h in text_hits)  # a text has no notes to hold
    assert np.all(np.diff([h.score for h in text_hits]) <= 1e-9)


def test_passage_options_are_checked_before_any_work(tmp_path, clamp, run_clamp):
    lib, index = _library(tmp_path / "lib"), tmp_path / "idx"
    build_index(lib, index, clamp, workers=0, progress=False)
    bad = run_clamp("search", "x", "--index", str(index), "--passages", check=False)
    assert bad.returncode == 1 and "--passages" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_clamp("similar", str(lib / SONG), "--index", str(index), "--bars", "9-16",
                    check=False)
    assert bad.returncode == 2 and "--passages" in bad.stderr
    bad = run_clamp("index", str(lib), "--index", str(index), "--passages", "--passage-bars",
                    "4", "--passage-hop", "6", check=False)
    assert bad.returncode == 1 and "hop" in bad.stderr


def test_any_key_finds_a_transposed_copy(tmp_path, clamp, run_clamp):
    """--any-key: bars 17-24 moved up a tone, stored as a file of their own, match the song's
    own bars 17-24 as well as the copy in the song's key does; in the written key they do not."""
    from clamp_core.notation.transpose import transpose_abc_steps

    lib = _library(tmp_path / "lib")
    score = load_score(FIXTURES / "scores" / SONG)
    cut = excerpt(score_to_abc(score), 17, 24, score_bar_numbers(score.stream))
    moved, _ = transpose_abc_steps(cut.abc, 2)
    (lib / "excerpt.abc").unlink()
    (lib / "moved.abc").write_text("X:1\nT:Moved\n" + moved, encoding="utf-8")
    index = tmp_path / "idx"
    with Index.create(index, clamp) as idx:
        idx.enable_passages(8, 4)
        idx.update(lib, clamp, workers=0, progress=False)
    plain = clamp.similar(lib / SONG, index, k=20, passages=True, bars="17-24")
    anykey = clamp.similar(lib / SONG, index, k=3, passages=True, bars="17-24", any_key=True)
    assert anykey[0].path.endswith("moved.abc") and anykey[0].score > 0.999
    assert all(h.score < 0.999 for h in plain if h.path.endswith("moved.abc"))
    out = run_clamp("similar", str(lib / SONG), "--index", str(index), "--passages", "--bars",
                    "17-24", "--any-key", "--json", "-k", "1", "--model", str(clamp.name))
    data = json.loads(out.stdout)
    assert data["any_key"] is True and data["results"][0]["path"].endswith("moved.abc")
    # whole works in any key too: each work scores its best key, never below its written one
    written = {h.id: h.score for h in clamp.similar(lib / "moved.abc", index, k=10)}
    for h in clamp.similar(lib / "moved.abc", index, k=10, any_key=True):
        assert h.score >= written[h.id] - 1e-5


def test_passages_cut_before_note_fingerprints_are_cut_once_more(tmp_path, clamp):
    """An index whose passages lack bar fingerprints (built by an earlier version) reads its
    files once more on the next update; then its passages rank by notes too."""
    from clamp_core.index.passages import PRINTS_FLAG

    lib, index = tmp_path / "lib", tmp_path / "idx"
    lib.mkdir()
    shutil.copy(FIXTURES / "scores" / "two_tunes.abc", lib / "two_tunes.abc")
    with Index.create(index, clamp) as idx:
        idx.enable_passages(8, 4)
        idx.update(lib, clamp, workers=0, progress=False)
    info_path = index / "passages" / "index.json"
    info = json.loads(info_path.read_text())
    assert info[PRINTS_FLAG] is True
    del info[PRINTS_FLAG]
    info_path.write_text(json.dumps(info))
    assert build_index(lib, index, clamp, workers=0, progress=False).parsed == 1
    assert json.loads(info_path.read_text())[PRINTS_FLAG] is True
    assert build_index(lib, index, clamp, workers=0, progress=False).parsed == 0
    hits = clamp.similar(lib / "two_tunes.abc", index, k=3, passages=True, bars="1-4",
                         exclude_self=False)
    assert hits[0].same_notes == 1.0 and hits[0].bars[0] <= 1
