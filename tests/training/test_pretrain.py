"""Masked-patch pre-training: the corruption recipe and a decoder that learns to spell patches."""

import numpy as np
import torch

from clamp_core.model.checkpoint import create_model
from clamp_core.model.config import preset
from clamp_core.notation.patches import MASK_ID, pad_batch, patchify
from clamp_core.training.pretrain import MaskedPatchModel, PatchDecoder, corrupt_patches


def test_corruption_recipe(wikimt):
    rng = np.random.default_rng(0)
    counts = {"mask": 0, "shuffle": 0, "keep": 0}
    for row in wikimt[:300]:
        p = patchify(row["abc"])
        c, sel = corrupt_patches(p, rng)
        assert sel.sum() == int(np.ceil(0.45 * len(p)))
        assert (c[~sel] == p[~sel]).all()  # unselected patches untouched
        for i in np.flatnonzero(sel):
            if (c[i] == MASK_ID).all():
                counts["mask"] += 1
            elif (c[i] == p[i]).all():
                counts["keep"] += 1
            else:
                counts["shuffle"] += 1
                assert sorted(c[i]) == sorted(p[i])  # same characters, other order
    total = sum(counts.values())
    assert abs(counts["mask"] / total - 0.8) < 0.03
    # Shuffling a patch of one repeated char leaves it unchanged, so "keep" gains a little.
    assert 0.07 < counts["shuffle"] / total < 0.11 and 0.09 < counts["keep"] / total < 0.14


def test_decoder_learns_to_reconstruct(wikimt):
    torch.manual_seed(0)
    model = create_model(preset("tiny"), seed=0)
    net = MaskedPatchModel(model.music_enc, PatchDecoder(64, 1, 4)).train()
    rng = np.random.default_rng(0)
    originals = [patchify(r["abc"], max_length=64) for r in wikimt[:4]]
    corrupted = [corrupt_patches(p, rng) for p in originals]
    ids, mask = pad_batch([c for c, _ in corrupted])
    targets, _ = pad_batch(originals)
    sel = np.zeros(mask.shape, dtype=np.int64)
    for b, (_, s) in enumerate(corrupted):
        sel[b, : len(s)] = s
    batch = [torch.from_numpy(x) for x in (ids, mask, targets, sel)]
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
    losses = []
    for _ in range(20):
        loss = net(*batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 3.5  # ~log(98) at the start
    assert losses[-1] < losses[0] * 0.6


def test_pretrain_cli_output_initialises_contrastive_training(pairs_dataset, run_clamp, tmp_path):
    pre, fine = tmp_path / "pre", tmp_path / "fine"
    common = ["--preset", "tiny", "--device", "cpu", "--batch-size", "8", "--warmup-steps", "1"]
    run_clamp("pretrain-music", str(pairs_dataset), "--out", str(pre), "--max-steps", "2", *common)
    assert (pre / "patch_decoder.safetensors").is_file() and (pre / "config.json").is_file()
    run_clamp("train", str(pairs_dataset), "--out", str(fine), "--init", str(pre),
              "--max-steps", "1", *common)
    from clamp_core.model.checkpoint import load_model

    a, b = load_model(pre).state_dict(), load_model(fine).state_dict()
    assert torch.equal(a["music_enc.enc.embeddings.word_embeddings.weight"],
                       b["music_enc.enc.embeddings.word_embeddings.weight"])  # frozen, carried over
    assert not torch.equal(a["music_proj.weight"], b["music_proj.weight"])  # trained after init
