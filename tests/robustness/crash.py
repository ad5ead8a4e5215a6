"""kill -9 trials of `clamp index` and `clamp train` subprocesses, shared by the tests and
bench/robustness.py: each trial kills a real process at a random moment and records what the
next run found."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "CLAMP_PRECISION": "fp32"}  # vectors compared with an fp32 build, on any CPU


def clamp_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "clamp_core", *args]


def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(clamp_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          check=False,
                          env=ENV)


def kill_at(cmd: list[str], wait_for, delay: float, limit: float = 300) -> dict:
    """Start ``cmd`` in its own process group; once ``wait_for()`` is true (or at once if None),
    wait ``delay`` s more and SIGKILL the whole group (the CLI and its reader processes)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                            start_new_session=True)
    while wait_for is not None and proc.poll() is None and not wait_for():
        if time.monotonic() - t0 > limit:
            break
        time.sleep(0.01)
    deadline = time.monotonic() + delay
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return {"killed": killed, "after_s": round(time.monotonic() - t0, 2)}


# ------------------------------------------------------------------ index
def index_state(folder: Path) -> dict:
    """What the index on disk says, checked against the invariants that must survive any crash;
    raises AssertionError naming the broken one."""
    db = sqlite3.connect(f"file:{folder / 'index.sqlite'}?mode=ro", uri=True)
    try:
        state = dict(db.execute("SELECT key, value FROM state"))
        rows = db.execute("SELECT id, path, sha256, status, row FROM files").fetchall()
    finally:
        db.close()
    n_rows = int(state.get("n_rows", 0))
    dim = json.loads((folder / "index.json").read_text())["dim"]
    matrix = folder / "embeddings.f32"
    if state.get("pending_compact") == "1" and (folder / "embeddings.f32.compact").exists():
        matrix = folder / "embeddings.f32.compact"
    size = matrix.stat().st_size if matrix.exists() else 0
    assert size >= n_rows * 4 * dim, "SQLite references matrix rows that are not on disk"
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate entries"
    ok_rows = [r for *_, status, r in rows if status == "ok"]
    assert None not in ok_rows and len(set(ok_rows)) == len(ok_rows), "two entries share a row"
    assert all(0 <= r < n_rows for r in ok_rows), "an entry points past the committed rows"
    assert all(r is None for *_, status, r in rows if status == "failed"), "a failure holds a row"
    shas: dict[str, set] = {}
    for _, path, sha, _, _ in rows:
        shas.setdefault(path, set()).add(sha)
    assert all(len(s) == 1 for s in shas.values()), "a file recorded with two contents"
    return {"ok": {i for i, _, _, s, _ in rows if s == "ok"},
            "failed": {i for i, _, _, s, _ in rows if s == "failed"},
            "n_rows": n_rows, "matrix_bytes": size, "row_bytes": 4 * dim}


def index_vectors(folder: Path) -> dict[str, np.ndarray]:
    from clamp_core.index.library import Index

    with Index(folder) as idx:
        return idx.vectors()


def add_tunes(lib: Path, n: int) -> None:
    """n short WikiMT lead sheets (MIT, tests/fixtures/wikimt) as .abc files: more work for each
    run, so more kills land mid-run."""
    src = Path(__file__).resolve().parents[1] / "fixtures" / "wikimt" / "wikimt_abc.jsonl"
    rows = [json.loads(x) for x in src.read_text(encoding="utf-8").splitlines()]
    (lib / "tunes").mkdir(exist_ok=True)
    for i, row in enumerate(sorted(rows, key=lambda r: len(r["abc"]))[:n]):
        (lib / "tunes" / f"t{i:02d}.abc").write_text(row["abc"], encoding="utf-8")


def _size(path: Path) -> int:
    """A file's size, 0 when it is absent: SQLite may delete its WAL between two calls."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def index_crash_trials(lib: Path, idx_dir: Path, model_dir: Path, kills: int, seed: int,
                       clean: dict[str, np.ndarray], clean_failed: set[str]) -> list[dict]:
    """Runs of `clamp index` on ``lib`` until ``kills`` of them were killed (-9) mid-run, the
    index checked after each; then a full re-run that must leave exactly the clean build's
    entries, vectors and failures."""
    rng = random.Random(seed)
    cmd = clamp_cmd("index", str(lib), "--index", str(idx_dir), "--model", str(model_dir),
                    "--batch-size", "2", "--workers", "2")
    db = idx_dir / "index.sqlite-wal"
    outcomes: list[dict] = []
    for trial in range(3 * kills):
        if sum(o["killed"] for o in outcomes) >= kills:
            break
        if trial % 2:  # anywhere: start-up, recovery, the walk, model load, reading, committing
            out = kill_at(cmd, None, rng.uniform(0.3, 6.0))
        else:  # once this run has begun writing (the WAL grows), a little later
            start = _size(db)
            out = kill_at(cmd, lambda s=start: _size(db) not in (0, s), rng.uniform(0.0, 1.5))
        st = index_state(idx_dir) if (idx_dir / "index.sqlite").exists() else None
        out.update(trial=trial, entries=len(st["ok"]) if st else 0,
                   failed=len(st["failed"]) if st else 0)
        outcomes.append(out)
    res = run("index", str(lib), "--index", str(idx_dir), "--workers", "2", "--json")
    assert res.returncode == 3, res.stderr[-2000:]  # the bad files: partial success
    st = index_state(idx_dir)
    assert st["ok"] == set(clean), (st["ok"] ^ set(clean))
    assert st["failed"] == clean_failed, (st["failed"] ^ clean_failed)
    assert st["matrix_bytes"] == st["n_rows"] * st["row_bytes"] == len(clean) * st["row_bytes"]
    got = index_vectors(idx_dir)
    for k, v in clean.items():
        np.testing.assert_allclose(got[k], v, atol=1e-5, err_msg=k)
    listed = run("index", "--failures", "--index", str(idx_dir))
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == len(clean_failed)
    return outcomes


def clean_index(lib: Path, idx_dir: Path, model_dir: Path) -> tuple[dict, set[str]]:
    res = run("index", str(lib), "--index", str(idx_dir), "--model", str(model_dir),
              "--workers", "2", "--json")
    assert res.returncode in (0, 3), res.stderr[-2000:]
    st = index_state(idx_dir)
    return index_vectors(idx_dir), st["failed"]


# ------------------------------------------------------------------ training
TRAIN_ARGS = ("--batch-size", "8", "--epochs", "3", "--save-every-steps", "1", "--preset",
              "tiny", "--dropout", "0", "--lr", "1e-3", "--warmup-steps", "2", "--device",
              "cpu", "--seed", "3")


def checkpoint_step(out: Path) -> int | None:
    for cand in (out / "last", out / "last.old"):  # the order Checkpointer.find() uses
        f = cand / "trainer_state.json"
        if (cand / "trainer_state.pt").is_file() and f.is_file():
            return json.loads(f.read_text())["step"]
    return None


def train_crash_trials(data: Path, out: Path, trials: int, seed: int) -> list[dict]:
    """kill -9 `clamp train` ``trials`` times, each a random moment after its next checkpoint;
    then a resume that must report the step of the checkpoint the kill left."""
    rng = random.Random(seed)
    cmd = clamp_cmd("train", str(data), "--out", str(out), *TRAIN_ARGS)
    outcomes = []
    for trial in range(trials):
        before = checkpoint_step(out) or 0
        target = before + 1
        out_ = kill_at(cmd, lambda t=target: (checkpoint_step(out) or 0) >= t,
                       rng.uniform(0.0, 0.3))
        out_.update(trial=trial, checkpoint_step=checkpoint_step(out))
        outcomes.append(out_)
    left = checkpoint_step(out)
    res = run("train", str(data), "--out", str(out), *TRAIN_ARGS)
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r"resumed from \S+ at step (\d+)", res.stderr)
    assert m and int(m.group(1)) == left, (left, res.stderr[-1500:])
    outcomes.append({"resume_step": int(m.group(1)),
                     "final_step": json.loads((out / "metrics.json").read_text())["step"]})
    return outcomes
