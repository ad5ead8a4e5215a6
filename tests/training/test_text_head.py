"""Tuning the text side alone: the music side stays byte for byte, the head learns, a rerun reads
its features from the cache, and the kept epoch is the best on val."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from clamp_core.datasets.records import load_records
from clamp_core.model.checkpoint import load_model, resolve_model_folder
from clamp_core.runtime.encoder import l2_normalise
from clamp_core.runtime.feature_cache import pooled_music
from clamp_core.runtime.torch_encoder import encode_abc, encode_texts
from clamp_core.training.contrastive import plain_variant_abc
from clamp_core.training.head_pairs import VariantPairs
from clamp_core.training.text_head import (
    TextHeadConfig,
    described,
    sample_parts,
    sample_texts,
    tune_text_head,
)


def _top1(folder, records) -> float:
    """Text -> music top-1 over ``records``, each queried by its first text (its title)."""
    model = load_model(folder).eval()
    music = l2_normalise(encode_abc(model, [r["abc"] for r in records]))
    text = l2_normalise(encode_texts(model, [r["texts"][0] for r in records]))
    return float(np.mean((text @ music.T).argmax(1) == np.arange(len(records))))


DEFAULT = resolve_model_folder("default")


@pytest.fixture(scope="module")
def titled_pairs(wikimt, tmp_path_factory) -> Path:
    """32 WikiMT lead sheets, each with its title and a genre phrase; val holds 8 of the same
    pieces again, so a head that learns the titles scores better on val as it goes."""
    genres = ["pop", "jazz", "country", "rock", "folk"]
    path = tmp_path_factory.mktemp("titled") / "pairs.jsonl"
    rows = [{"id": f"wikimt-{i}", "abc": row["abc"], "labels": {}, "split": "train",
             "texts": [row["title"], f"a {genres[i % 5]} lead sheet"]}
            for i, row in enumerate(wikimt[:32])]
    rows += [{**r, "id": r["id"] + "-val", "split": "val"} for r in rows[:8]]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_tuning_the_text_head_leaves_music_alone_and_learns(titled_pairs, tmp_path):
    out = tmp_path / "tuned"
    cfg = TextHeadConfig(epochs=60, batch_size=32, lr=3e-3, texts_per_work=4, single_share=0.5)
    metrics = tune_text_head(titled_pairs, DEFAULT, out, cfg)

    before, after = load_file(DEFAULT / "model.safetensors"), load_file(
        out / "model.safetensors")
    music_keys = [k for k in before if k.startswith(("music_enc.", "music_proj."))]
    assert music_keys and all(torch.equal(before[k], after[k]) for k in music_keys)
    assert not torch.equal(before["text_proj.weight"], after["text_proj.weight"])

    train = load_records(titled_pairs, "train")
    assert _top1(DEFAULT, train) < 0.3  # titles of pieces it never saw point anywhere
    assert _top1(out, train) > 0.8  # the tuned head points each title at its own piece

    hist = metrics["history"]
    assert hist[0]["epoch"] == 0 and len(hist) == cfg.epochs + 1
    assert metrics["best"]["score"] == max(h["score"] for h in hist)
    assert json.loads((out / "text_head.json").read_text())["best"] == metrics["best"]
    # a rerun with other settings encodes nothing again: the feature tables are reused
    tables = sorted(p.name for p in (out / "features").iterdir())
    assert len(tables) == 2
    tune_text_head(titled_pairs, DEFAULT, tmp_path / "again",
                   TextHeadConfig(epochs=1, batch_size=32, texts_per_work=4, single_share=0.5),
                   cache_dir=out / "features")
    assert sorted(p.name for p in (out / "features").iterdir()) == tables


def test_sampled_texts_are_fixed_per_seed_and_drawn_from_the_candidates():
    recs = [{"id": f"t{n}", "texts": ["a reel", "in D major", "for fiddle", "Irish"]}
            for n in range(5)]
    cfg = TextHeadConfig(texts_per_work=6, single_share=0.5, seed=1)
    a, b = sample_texts(recs, cfg), sample_texts(recs, cfg)
    assert a == b and all(len(t) == 6 for t in a)
    parts = [p for texts in a for t in texts for p in t.split(". ")]
    assert set(parts) <= set(recs[0]["texts"])
    assert any(". " in t for texts in a for t in texts)  # dropout joins several
    assert any(t in recs[0]["texts"] for texts in a for t in texts)  # and singles occur
    assert sample_texts(recs, TextHeadConfig(texts_per_work=6, single_share=0.5, seed=2)) != a


def test_tune_text_cli_refuses_to_overwrite_its_init(pairs_dataset, tiny_model_dir, run_clamp):
    res = run_clamp("tune-text", str(pairs_dataset), "--init", str(tiny_model_dir), "--out",
                    str(tiny_model_dir), check=False)
    assert res.returncode == 1 and "--out must be another folder" in res.stderr


def test_an_anchor_keeps_the_head_near_the_one_given(titled_pairs, tmp_path):
    given = load_file(DEFAULT / "model.safetensors")["text_proj.weight"].float()

    def moved(anchor: float) -> float:
        out = tmp_path / f"a{anchor}"
        tune_text_head(titled_pairs, DEFAULT, out,
                       TextHeadConfig(epochs=15, batch_size=32, lr=3e-3, texts_per_work=4,
                                      single_share=0.5, anchor=anchor),
                       cache_dir=tmp_path / "features")
        w = load_file(out / "model.safetensors")["text_proj.weight"].float()
        return float((w - given).pow(2).sum())

    free, held = moved(0.0), moved(1.0)
    assert free > 0 and held < free / 4


def test_a_text_is_a_positive_of_every_piece_whose_own_texts_hold_all_its_parts():
    minor, triple, reel, title = 0, 1, 2, 3  # candidate ids: equal strings, equal ids
    pieces = [frozenset({minor, triple, title}), frozenset({minor, reel}), frozenset({triple})]
    samples = [frozenset({minor}), frozenset({minor, triple}), frozenset({title}),
               frozenset({reel})]
    got = described(samples, pieces)
    assert got.tolist() == [[True, True, False],    # "in a minor key": both minor pieces
                            [True, False, False],   # a joined text: only where both parts are
                            [True, False, False],   # a title: its own piece alone
                            [False, True, False]]


def test_sample_parts_name_the_candidates_the_sampled_texts_join():
    recs = [{"id": f"t{n}", "texts": ["a reel", "in D major", "for fiddle", "Irish"]}
            for n in range(4)]
    cfg = TextHeadConfig(texts_per_work=5, single_share=0.5, seed=3)
    parts = sample_parts(recs, cfg)
    assert sample_texts(recs, cfg) == [[". ".join(r["texts"][i] for i in p) for p in ps]
                                       for r, ps in zip(recs, parts, strict=True)]
    assert all(len(set(p)) == len(p) >= 1 for ps in parts for p in ps)


def test_tuning_the_music_head_too_moves_both_projections_and_nothing_else(titled_pairs,
                                                                          tmp_path):
    out = tmp_path / "both"
    cfg = TextHeadConfig(epochs=40, batch_size=32, lr=3e-3, texts_per_work=4, single_share=0.5,
                         music_head=True)
    tune_text_head(titled_pairs, DEFAULT, out, cfg)

    before, after = load_file(DEFAULT / "model.safetensors"), load_file(
        out / "model.safetensors")
    locked = [k for k in before if k.startswith(("music_enc.", "text_enc."))]
    assert locked and all(torch.equal(before[k], after[k]) for k in locked)
    for key in ("music_proj.weight", "text_proj.weight"):
        assert not torch.equal(before[key], after[key])
    assert _top1(out, load_records(titled_pairs, "train")) > 0.8
    assert any(p.name.startswith("pooled-") for p in (out / "features").iterdir())


def test_projecting_pooled_states_gives_the_runtime_music_vectors(wikimt):
    """What the music head is tuned on (pooled states, then music_proj) is what the runtime
    computes, a long piece's windows included."""
    model = load_model(DEFAULT).eval()
    head, body = wikimt[0]["abc"].split("\nK:", 1)
    key_line, tune = body.split("\n", 1)
    long = f"{head}\nK:{key_line}\n" + tune * 40  # hundreds of bars: several windows
    abcs = [wikimt[1]["abc"], long]
    with torch.inference_mode():
        projected = model.music_proj(torch.from_numpy(pooled_music(model, abcs))).numpy()
    np.testing.assert_allclose(projected, encode_abc(model, abcs), rtol=1e-4, atol=1e-4)


def _variant_cosine(folder, records) -> float:
    """Mean cosine of each piece's vector and its plain re-beamed writing's."""
    model = load_model(folder).eval()
    written = l2_normalise(encode_abc(model, [r["abc"] for r in records]))
    plain = l2_normalise(encode_abc(model, [plain_variant_abc(r["abc"], 0, n)
                                            for n, r in enumerate(records)]))
    return float(np.mean(np.sum(written * plain, axis=1)))


def test_the_paired_term_holds_a_piece_and_its_plain_writing_together(titled_pairs, tmp_path):
    """Tuning music_proj on texts alone spreads a piece's two writings apart; the paired term
    keeps them closer, and each epoch's val row reports how close."""
    cfg = dict(epochs=40, batch_size=32, lr=3e-3, texts_per_work=4, single_share=0.5,
               music_head=True, paired_pieces=32)
    tune_text_head(titled_pairs, DEFAULT, tmp_path / "free", TextHeadConfig(**cfg))
    held = tune_text_head(titled_pairs, DEFAULT, tmp_path / "held",
                          TextHeadConfig(**cfg, paired_weight=4.0))
    assert all(0 < row["variant_cosine"] <= 1 for row in held["history"])
    train = load_records(titled_pairs, "train")
    assert _variant_cosine(tmp_path / "held", train) > _variant_cosine(tmp_path / "free", train)
    assert _top1(tmp_path / "held", train) > 0.8


def test_pairs_above_the_floor_are_left_free(wikimt):
    """The paired term with a floor pulls only the pairs whose cosine is below it; at floor 1
    it is the mean cosine distance of every pair."""
    model = load_model(DEFAULT).eval()
    abcs = [r["abc"] for r in wikimt[:12]]
    written = torch.from_numpy(pooled_music(model, abcs))
    variant = torch.from_numpy(pooled_music(model, [plain_variant_abc(a, 0, n)
                                                    for n, a in enumerate(abcs)]))
    variant.requires_grad_(True)
    pairs = VariantPairs(written, variant)
    with torch.no_grad():
        cosine = torch.nn.functional.cosine_similarity(model.music_proj(written),
                                                       model.music_proj(variant), dim=-1)
        assert float(pairs.distance(model.music_proj)) == pytest.approx(
            float((1 - cosine).mean()), abs=1e-6)
        assert float(pairs.distance(model.music_proj, floor=float(cosine.min()) - 1e-3)) == 0
    floor = float(cosine.median())
    pairs.distance(model.music_proj, floor=floor).backward()
    moved = variant.grad.abs().sum(1) > 0
    assert moved.tolist() == (cosine < floor).tolist() and 0 < int(moved.sum()) < len(abcs)


def test_the_paired_term_needs_the_music_head(pairs_dataset, tiny_model_dir, run_clamp,
                                              tmp_path):
    res = run_clamp("tune-text", str(pairs_dataset), "--init", str(tiny_model_dir), "--out",
                    str(tmp_path / "out"), "--paired-weight", "4", check=False)
    assert res.returncode == 1 and "add --music-head" in res.stderr
    res = run_clamp("tune-text", str(pairs_dataset), "--init", str(tiny_model_dir), "--out",
                    str(tmp_path / "out"), "--music-head", "--paired-floor", "0.9", check=False)
    assert res.returncode == 1 and "add --paired-weight" in res.stderr
