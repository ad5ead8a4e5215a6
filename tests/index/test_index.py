"""The library index: incremental updates, failures, search, crash safety and the CLI verbs."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES
from robustness.crash import index_state

from clamp_core import Clamp, ClampError
from clamp_core.index import library as index_mod
from clamp_core.index import store as index_store
from clamp_core.index.library import Index, build_index

REAL_FILES = ("small.mid", "little_tune.krn", "two_tunes.abc", "handmade.mscx")


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir) -> Path:
    return tiny_model_dir


@pytest.fixture(scope="module")
def clamp(model_dir) -> Clamp:
    return Clamp.load(str(model_dir), precision="fp32")


def make_library(folder: Path, wikimt: list[dict], n: int) -> Path:
    """n short WikiMT tunes as .abc, the real fixture files, a broken file, a hidden folder and
    a symlink loop."""
    tunes = folder / "tunes"
    tunes.mkdir(parents=True)
    for i, row in enumerate(sorted(wikimt, key=lambda r: len(r["abc"]))[:n]):
        (tunes / f"t{i:02d}.abc").write_text(row["abc"], encoding="utf-8")
    for name in REAL_FILES:
        shutil.copy(FIXTURES / "scores" / name, folder / name)
    (folder / "broken.mxl").write_bytes(b"this is not a zip file")
    (folder / ".hidden").mkdir()
    shutil.copy(FIXTURES / "scores" / "little_tune.krn", folder / ".hidden" / "secret.krn")
    os.symlink("..", tunes / "loop")  # tunes/loop/tunes/loop/... must not hang the walk
    return folder


def expected_ids(n: int) -> set[str]:
    return ({f"tunes/t{i:02d}.abc" for i in range(n)} | {"small.mid", "little_tune.krn",
            "handmade.mscx", "two_tunes.abc#1", "two_tunes.abc#7"})


_PARSED: dict[tuple[str, str], list[dict]] = {}


@pytest.fixture
def cached_parse(monkeypatch):
    """In-process reads remembered by (path, content): the tests are about the index, and
    music21 is the slow part. Returns the list of paths actually handed to the reader."""
    calls: list[str] = []
    real = index_mod.parse_file

    def parse(path: str, rel: str) -> list[dict]:
        calls.append(rel)
        key = (path, hashlib.sha256(Path(path).read_bytes()).hexdigest())
        if key not in _PARSED:
            _PARSED[key] = real(path, rel)
        return copy.deepcopy(_PARSED[key])

    monkeypatch.setattr(index_mod, "parse_file", parse)
    return calls


def check_consistent(folder: Path, complete: bool = False, clean: dict | None = None) -> None:
    """The on-disk invariants that must hold after any crash (robustness.crash.index_state), and,
    given a clean build's vectors, that every entry already indexed has its right vector."""
    st = index_state(folder)
    if complete:
        assert (st["matrix_bytes"] == st["n_rows"] * st["row_bytes"]
                and len(st["ok"]) == st["n_rows"]), "free or stray matrix rows"
    if clean is not None:
        with Index(folder) as idx:
            for k, v in idx.vectors().items():
                np.testing.assert_allclose(v, clean[k], atol=1e-5, err_msg=k)


def assert_same_vectors(folder: Path, clean: dict[str, np.ndarray]) -> None:
    with Index(folder) as idx:
        got = idx.vectors()
    assert set(got) == set(clean)
    for k, v in clean.items():
        np.testing.assert_allclose(got[k], v, atol=1e-5, err_msg=k)


# --------------------------------------------------------------------------- incremental
def test_build_then_incremental_updates(tmp_path, wikimt, clamp, monkeypatch):
    lib = make_library(tmp_path / "lib", wikimt, 8)
    idx_dir = tmp_path / "idx"
    t0 = time.monotonic()
    rep = build_index(lib, idx_dir, clamp, workers=2, batch_size=4, progress=False)  # real pool
    assert time.monotonic() - t0 < 120  # the symlink loop did not hang the walk
    assert (rep.scanned, rep.parsed, rep.added, rep.failed) == (13, 13, 13, 1)
    with Index(idx_dir) as idx:
        assert {e["id"] for e in idx.entries() if e["status"] == "ok"} == expected_ids(8)
        [fail] = idx.failures()
        assert fail["id"] == "broken.mxl" and "zip" in fail["error"] and "\n" not in fail["error"]
        first = idx.vectors()
    check_consistent(idx_dir, complete=True)

    calls: list[str] = []
    monkeypatch.setattr(index_mod, "parse_file", lambda p, r: calls.append(r) or [])
    rep = build_index(lib, idx_dir, clamp, workers=0, progress=False)
    assert rep.parsed == 0 and calls == [] and rep.unchanged == 13  # nothing read again
    os.utime(lib / "small.mid")  # new mtime, same bytes: hashed, not read
    assert build_index(lib, idx_dir, clamp, workers=0, progress=False).parsed == 0
    monkeypatch.undo()

    with open(lib / "tunes" / "t00.abc", "a") as f:
        f.write("|: A4 B4 | c8 :|\n")
    (lib / "tunes" / "t01.abc").unlink()
    shutil.copy(lib / "tunes" / "t02.abc", lib / "tunes" / "new.abc")
    (lib / "broken.mxl").write_bytes(b"still not a zip, but other bytes")
    rep = build_index(lib, idx_dir, clamp, workers=0, batch_size=4, progress=False)
    assert (rep.parsed, rep.removed, rep.added, rep.failed) == (3, 1, 2, 1)
    with Index(idx_dir) as idx:
        now = idx.vectors()
        assert len(idx.failures()) == 1
    assert "tunes/t01.abc" not in now and "tunes/new.abc" in now
    np.testing.assert_allclose(now["tunes/new.abc"], first["tunes/t02.abc"], atol=1e-5)
    assert not np.allclose(now["tunes/t00.abc"], first["tunes/t00.abc"], atol=1e-4)
    check_consistent(idx_dir)  # rows of the old t00/t01 are free until a compaction

    with Index(idx_dir, write=True) as idx:
        idx.compact()
    check_consistent(idx_dir, complete=True)
    assert_same_vectors(idx_dir, now)


def test_search_similar_and_model_mismatch(tmp_path, wikimt, clamp, cached_parse):
    lib = make_library(tmp_path / "lib", wikimt, 6)
    idx_dir = tmp_path / "idx"
    build_index(lib, idx_dir, clamp, workers=0, progress=False)
    with Index(idx_dir) as idx:
        vecs = idx.vectors()
        for key in ("tunes/t03.abc", "two_tunes.abc#7", "small.mid"):
            top = idx.search(vecs[key], k=3)[0]
            assert top.id == key and top.score == pytest.approx(1, abs=1e-4)
        hit = idx.search(vecs["two_tunes.abc#7"], k=1)[0]
        assert (hit.tune, hit.title, hit.path) == (7, "Accidental Reel", str(lib / "two_tunes.abc"))
        assert hit.meta["meter"] == "4/4"
        # forcing the approximate path (FAISS when installed, else the exact fallback)
        assert idx.search(vecs["small.mid"], k=2, exact=False)[0].id == "small.mid"

    hits = clamp.search("a lively jig", idx_dir, k=4)
    assert len(hits) == 4 and [h.rank for h in hits] == [1, 2, 3, 4]
    assert hits == sorted(hits, key=lambda h: -h.score)
    sim = clamp.similar(lib / "handmade.mscx", idx_dir, k=20)
    assert "handmade.mscx" not in {h.id for h in sim} and len(sim) == len(vecs) - 1
    top = clamp.similar(lib / "handmade.mscx", idx_dir, k=1, exclude_self=False)[0]
    assert top.id == "handmade.mscx"

    other = Clamp(copy.deepcopy(clamp.model), "other-model")
    other.model.music_proj.weight.data.add_(0.5)
    with pytest.raises(ClampError, match="built with model"):
        other.search("a jig", idx_dir)
    with pytest.raises(ClampError, match="built with model"):
        build_index(lib, idx_dir, other, workers=0, progress=False)
    upgraded = Clamp(other.model, clamp.name)  # the same name, other weights
    with pytest.raises(ClampError, match="earlier version of model"):
        upgraded.search("a jig", idx_dir)
    with pytest.raises(ClampError, match="not a clamp index"):
        clamp.search("a jig", tmp_path / "nowhere")


# --------------------------------------------------------------------------- crash safety
class _Crash(BaseException):
    """Stands in for SIGKILL in-process: nothing after the crash point runs."""


@pytest.fixture(scope="module")
def crash_lib(tmp_path_factory, wikimt):
    return make_library(tmp_path_factory.mktemp("crashlib"), wikimt, 30)


@pytest.fixture(scope="module")
def clean_vectors(tmp_path_factory, crash_lib, clamp) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("clean") / "idx"
    build_index(crash_lib, folder, clamp, workers=2, progress=False)
    with Index(folder) as idx:
        assert {e["id"] for e in idx.entries() if e["status"] == "ok"} == expected_ids(30)
        return idx.vectors()


def _abandon(idx: Index) -> None:
    """Drop an index the way a killed process does: no commit, no cleanup, lock released."""
    idx.store.db.close()
    os.close(idx.store._lock_fd)
    idx.store._lock_fd = None


@pytest.mark.parametrize("point", ["mid_write", "after_matrix_fsync", "after_commit",
                                   "after_compact_write", "after_compact_commit"])
def test_crash_at_each_commit_step(tmp_path, crash_lib, clean_vectors, clamp, cached_parse,
                                   monkeypatch, point):
    lib = tmp_path / "lib"  # a third of the tunes: an entry's vector does not depend on others
    shutil.copytree(crash_lib, lib, symlinks=True, ignore=lambda d, names: [
        n for n in names if re.fullmatch(r"t\d\d\.abc", n) and int(n[1:3]) >= 12])
    clean_vectors = {k: v for k, v in clean_vectors.items()
                     if not re.fullmatch(r"tunes/t\d\d\.abc", k) or int(k[7:9]) < 12}
    idx_dir = tmp_path / "idx"
    seen = {"n": 0}
    nth = 1 if point.startswith("after_compact") else 2  # commits: after one batch went in

    def crash(name: str) -> None:
        if name == point:
            seen["n"] += 1
            if seen["n"] == nth:
                raise _Crash(name)

    monkeypatch.setattr(index_store, "_crash_point", crash)
    idx = Index.create(idx_dir, clamp)
    if point.startswith("after_compact"):
        idx.update(lib, clamp, workers=0, progress=False)
        for i in range(10):  # free rows, so the next update compacts (and crashes doing it)
            os.rename(lib / "tunes" / f"t{i:02d}.abc", tmp_path / f"t{i:02d}.abc")
    with pytest.raises(_Crash):
        idx.update(lib, clamp, workers=0, batch_size=3, progress=False, compact_ratio=0)
    _abandon(idx)
    check_consistent(idx_dir, clean=clean_vectors)
    with Index(idx_dir) as reader:  # a search in between sees a consistent, older library
        reader.search(next(iter(clean_vectors.values())), k=5)

    monkeypatch.setattr(index_store, "_crash_point", lambda name: None)
    for i in range(12):  # the library as it was
        if (tmp_path / f"t{i:02d}.abc").exists():
            (tmp_path / f"t{i:02d}.abc").rename(lib / "tunes" / f"t{i:02d}.abc")
    build_index(lib, idx_dir, clamp, workers=0, progress=False, compact_ratio=0)
    check_consistent(idx_dir, complete=True)
    assert_same_vectors(idx_dir, clean_vectors)


def _sigkill_trials(tmp_path: Path, crash_lib: Path, model_dir: Path, clean: dict, run_clamp,
                    trials: int, seed: int) -> None:
    lib = tmp_path / "lib"
    shutil.copytree(crash_lib, lib, symlinks=True)
    idx_dir = tmp_path / "idx"
    matrix = idx_dir / "embeddings.f32"
    cmd = [sys.executable, "-m", "clamp_core.cli.root", "index", str(lib), "--index", str(idx_dir),
           "--model", str(model_dir), "--batch-size", "3", "--workers", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "CLAMP_PRECISION": "fp32"}  # vectors compared with an fp32 build, on any CPU
    rng = random.Random(seed)
    for trial in range(trials):
        size0 = matrix.stat().st_size if matrix.exists() else 0
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        if trial % 2 or trial % 5 == 4:  # early: start-up, recovery, walk, model load
            deadline = time.monotonic() + rng.uniform(0.2, 4.0)
        else:  # once this run has written rows, a moment later (often mid-commit)
            deadline = None
            while proc.poll() is None and (not matrix.exists() or matrix.stat().st_size <= size0):
                time.sleep(0.01)
            deadline = time.monotonic() + rng.uniform(0.0, 0.5)
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its reader processes
        proc.wait(timeout=60)
        if (idx_dir / "index.sqlite").exists():
            check_consistent(idx_dir, clean=clean)
    res = run_clamp("index", str(lib), "--index", str(idx_dir), "--workers", "2", check=False)
    assert res.returncode == 3, res.stderr[-2000:]  # broken.mxl: partial success
    assert "entries in" in res.stdout and "--failures" in res.stderr
    check_consistent(idx_dir, complete=True)
    assert_same_vectors(idx_dir, clean)


def test_sigkill_at_random_moments(tmp_path, crash_lib, model_dir, clean_vectors, run_clamp):
    _sigkill_trials(tmp_path, crash_lib, model_dir, clean_vectors, run_clamp, trials=5, seed=1)


@pytest.mark.slow
def test_sigkill_at_random_moments_many(tmp_path, crash_lib, model_dir, clean_vectors, run_clamp):
    _sigkill_trials(tmp_path, crash_lib, model_dir, clean_vectors, run_clamp, trials=20, seed=2)


# --------------------------------------------------------------------------- CLI
def test_cli_search_similar_failures(tmp_path, wikimt, clamp, cached_parse, run_clamp,
                                    monkeypatch):
    from click.testing import CliRunner

    from clamp_core.cli.root import cli

    lib = make_library(tmp_path / "lib", wikimt, 4)
    idx_dir = tmp_path / "idx"
    build_index(lib, idx_dir, clamp, workers=0, progress=False)
    # in-process with the loaded model (a subprocess spends its time importing transformers;
    # the SIGKILL test runs the real `clamp index` subprocess)
    monkeypatch.setattr(Clamp, "load", classmethod(lambda cls, name, *a, **k: clamp))
    runner = CliRunner()

    res = runner.invoke(cli, ["search", "a jig in D", "--index", str(idx_dir), "-k", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["query"] == "a jig in D" and len(out["results"]) == 3
    assert {"rank", "score", "path", "tune", "title", "composer", "meta"} <= set(out["results"][0])

    res = runner.invoke(cli, ["similar", str(lib / "two_tunes.abc"), "--index", str(idx_dir),
                              "-k", "20"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    # similar ranks by the music cosine (text search shows a calibrated relevance instead)
    assert lines[0].split() == ["#", "cosine", "title", "composer", "path"]
    assert len(lines) == 1 + 7  # 9 entries less the two tunes of the file itself
    assert "two_tunes.abc" not in res.output and "Little Humdrum Tune" in res.output

    res = runner.invoke(cli, ["index", str(lib), "--index", str(idx_dir), "--json"])
    assert res.exit_code == 3 and json.loads(res.output)["unchanged"] == 9
    res = runner.invoke(cli, ["index", "--failures", "--index", str(idx_dir)])
    assert res.exit_code == 0 and res.output.startswith(f"{lib / 'broken.mxl'}\t")

    res = run_clamp("index", "--index", str(idx_dir), check=False)
    assert res.returncode == 2 and "FOLDER" in res.stderr
    res = run_clamp("search", "x", "--index", str(tmp_path / "nothing"), check=False)
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "not a clamp index" in res.stderr


def test_a_score_the_model_cannot_encode_is_recorded(tmp_path, wikimt, clamp, cached_parse,
                                                    monkeypatch):
    lib = make_library(tmp_path / "lib", wikimt, 3)
    bad = (lib / "tunes" / "t01.abc").read_text()
    real = clamp.encode_abc

    def encode(abcs, *a, **k):
        if any(x.strip() == bad.strip() for x in abcs):
            raise RuntimeError("boom")
        return real(abcs, *a, **k)

    monkeypatch.setattr(clamp, "encode_abc", encode)
    rep = build_index(lib, tmp_path / "idx", clamp, workers=0, progress=False)
    assert rep.added == 7 and rep.failed == 2
    with Index(tmp_path / "idx") as idx:
        errors = {f["id"]: f["error"] for f in idx.failures()}
    assert "cannot encode" in errors["tunes/t01.abc"] and "boom" in errors["tunes/t01.abc"]
    check_consistent(tmp_path / "idx", complete=True)
