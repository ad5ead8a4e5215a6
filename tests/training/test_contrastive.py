"""Contrastive training: text dropout, exact resume, and 2-process DDP agreeing with 1 process."""

import json
from pathlib import Path

import numpy as np
from safetensors.torch import load_file

from clamp_core.training.contrastive import crop_patches, oversample, text_dropout
from clamp_core.training.distributed import DistInfo
from clamp_core.training.loop import epoch_order


def _weights(folder: Path) -> dict:
    return load_file(folder / "model.safetensors")


COMMON = ["--preset", "tiny", "--dropout", "0", "--lr", "1e-3", "--warmup-steps", "2",
          "--device", "cpu", "--seed", "3"]


def test_text_dropout_keeps_at_least_one_and_shuffles():
    rng = np.random.default_rng(0)
    cands = ["a", "b", "c", "d"]
    outs = [text_dropout(cands, rng, 0.5) for _ in range(300)]
    assert all(o for o in outs)
    parts = [o.split(". ") for o in outs]
    assert all(set(p) <= set(cands) and len(set(p)) == len(p) for p in parts)
    assert any(len(p) == 1 for p in parts) and any(len(p) == 4 for p in parts)
    assert any(p != sorted(p) for p in parts)  # order is shuffled
    # keep_prob 0 still yields one candidate; keep_prob 1 keeps all of them.
    assert text_dropout(cands, rng, 0.0) in cands
    assert sorted(text_dropout(cands, rng, 1.0).split(". ")) == cands


def test_oversample_repeats_named_collections_only():
    recs = [{"id": "a", "labels": {"collection": "lieder"}},
            {"id": "b", "labels": {"collection": "essen"}},
            {"id": "c", "labels": {}}]
    assert [r["id"] for r in oversample(recs, {"lieder": 3})] == ["a", "a", "a", "b", "c"]
    assert oversample(recs, None) == recs


def test_train_rejects_a_malformed_repeat(pairs_dataset, run_clamp, tmp_path):
    res = run_clamp("train", str(pairs_dataset), "--out", str(tmp_path / "m"), "--repeat", "lieder",
                    check=False)
    assert res.returncode == 2 and "COLLECTION=N" in res.stderr


def test_epoch_order_shards_global_batches():
    single = epoch_order(20, 1, 0, DistInfo(), 8)
    r0 = epoch_order(20, 1, 0, DistInfo(0, 2, 0), 4)
    r1 = epoch_order(20, 1, 0, DistInfo(1, 2, 1), 4)
    assert [a + b for a, b in zip(r0, r1, strict=True)] == single
    assert epoch_order(20, 1, 1, DistInfo(), 8) != single  # a new order each epoch
    # Length buckets: batches hold similar lengths, every example at most once, ranks agree.
    lengths = list(np.random.default_rng(0).integers(1, 500, size=400))
    b1 = epoch_order(400, 1, 0, DistInfo(), 8, lengths, bucket=10)
    r0 = epoch_order(400, 1, 0, DistInfo(0, 2, 0), 4, lengths, bucket=10)
    r1 = epoch_order(400, 1, 0, DistInfo(1, 2, 1), 4, lengths, bucket=10)
    assert [a + b for a, b in zip(r0, r1, strict=True)] == b1
    flat = [i for b in b1 for i in b]
    assert len(flat) == len(set(flat)) == 400
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in b1])
    assert spread < 0.3 * np.ptp(lengths)
    patches = np.arange(10 * 64).reshape(10, 64)
    assert crop_patches(patches, 4, None).tolist() == patches[:4].tolist()
    assert len(crop_patches(patches, 4, np.random.default_rng(0))) == 4


def test_train_then_resume_matches_straight_run(pairs_dataset, run_clamp, tmp_path):
    dataset = pairs_dataset
    straight, split = tmp_path / "straight", tmp_path / "split"
    run_clamp("train", str(dataset), "--out", str(straight), "--batch-size", "8", "--epochs", "2",
              *COMMON)
    metrics = json.loads((straight / "metrics.json").read_text())
    assert metrics["step"] == 8 and "val_loss" in metrics and "music_to_text_top1" in metrics
    # The same run killed after 3 steps and resumed ends on the same weights.
    run_clamp("train", str(dataset), "--out", str(split), "--batch-size", "8", "--epochs", "2",
           "--max-steps", "3", *COMMON)
    state = json.loads((split / "last" / "trainer_state.json").read_text())
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (3, 0, 3)
    run_clamp("train", str(dataset), "--out", str(split), "--batch-size", "8", "--epochs", "2",
              *COMMON)
    a, b = _weights(straight), _weights(split)
    assert a.keys() == b.keys()
    for k in a:
        assert np.allclose(a[k].numpy(), b[k].numpy(), atol=1e-5), k
    # The locked text encoder is not stored: the folder stays small and reloads from the package.
    assert not any(k.startswith("text_enc.") for k in a)


def test_two_process_ddp_step_equals_single_process(pairs_dataset, run_clamp, tmp_path):
    dataset = pairs_dataset
    one, two = tmp_path / "one", tmp_path / "two"
    run_clamp("train", str(dataset), "--out", str(one), "--batch-size", "8", "--max-steps", "2",
              *COMMON)
    run_clamp("train", str(dataset), "--out", str(two), "--batch-size", "4", "--max-steps", "2",
              *COMMON, nproc=2)
    a, b = _weights(one), _weights(two)
    moved = 0
    for k in a:
        assert np.allclose(a[k].numpy(), b[k].numpy(), atol=2e-5), k
    init = _weights(one / "last")  # same weights: last/ is the final checkpoint here
    assert all(np.array_equal(init[k].numpy(), a[k].numpy()) for k in a)
    from clamp_core.model.checkpoint import create_model
    from clamp_core.model.config import preset

    fresh = create_model(preset("tiny"), seed=3).state_dict()
    moved = sum(not np.allclose(fresh[k].numpy(), a[k].numpy()) for k in a)
    assert moved > len(a) // 2  # the step really changed the music tower


def test_time_budget_ends_the_schedule_early_and_keeps_the_best(pairs_dataset, run_clamp, tmp_path):
    out = tmp_path / "budget"
    # 50 epochs of 4 steps would be 200 steps; 0.1 minute of training allows far fewer on CPU.
    run_clamp("train", str(pairs_dataset), "--out", str(out), "--batch-size", "8", "--epochs", "50",
              "--time-budget", "0.1", "--val-every", "5", "--variant-prob", "0.5", *COMMON)
    state = json.loads((out / "last" / "trainer_state.json").read_text())
    assert 0 < state["step"] < 200
    best = json.loads((out / "best" / "metrics.json").read_text())
    final = json.loads((out / "metrics.json").read_text())
    assert (best["text_to_music_mrr"] >= final["text_to_music_mrr"]
            and final["step"] == state["step"])
    assert set(_weights(out / "best")) == set(_weights(out))
