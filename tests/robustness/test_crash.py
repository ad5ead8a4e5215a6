"""kill -9 at random moments: `clamp index` on the hostile corpus (20 trials) and `clamp train`
(issue 8, part 3). tests/index/test_index.py kills index runs on a clean library at fixed commit
steps and random moments; here the library is full of bad files, and the failures list must
come out right too. tests/training/test_contrastive.py resumes after a clean stop; here after
kill -9."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from crash import TRAIN_ARGS, add_tunes, clean_index, index_crash_trials, run, train_crash_trials
from safetensors.torch import load_file

INDEX_KILLS = 20


@pytest.mark.slow
def test_kill_index_at_random_moments(hostile, tiny_model_dir, tmp_path):
    _, folder, _ = hostile
    lib = tmp_path / "lib"
    shutil.copytree(folder, lib, symlinks=True)
    add_tunes(lib, 30)
    clean, clean_failed = clean_index(lib, tmp_path / "clean", tiny_model_dir)
    assert len(clean) >= 40 and len(clean_failed) >= 40
    outcomes = index_crash_trials(lib, tmp_path / "idx", tiny_model_dir, INDEX_KILLS, seed=8,
                                  clean=clean, clean_failed=clean_failed)
    assert sum(o["killed"] for o in outcomes) == INDEX_KILLS


def test_kill_training_then_resume_at_the_checkpoint_step(pairs_dataset, tmp_path):
    out = tmp_path / "run"
    outcomes = train_crash_trials(pairs_dataset, out, trials=2, seed=5)
    assert all(o["killed"] for o in outcomes[:-1])
    assert outcomes[-1]["final_step"] == 12  # 32 examples / 8 per batch x 3 epochs
    assert outcomes[-1]["resume_step"] < 12  # the kills left work for the resumed run
    # the killed-and-resumed run ends on the weights of a run that was never interrupted
    straight = tmp_path / "straight"
    res = run("train", str(pairs_dataset), "--out", str(straight), *TRAIN_ARGS)
    assert res.returncode == 0, res.stderr[-2000:]
    a, b = load_file(straight / "model.safetensors"), load_file(out / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert np.allclose(a[k].numpy(), b[k].numpy(), atol=1e-5), k
