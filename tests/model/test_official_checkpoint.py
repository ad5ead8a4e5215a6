"""Official CLaMP 1 checkpoints: an exact official-shaped folder (random weights, since no
RoBERTa weights exist offline) loads strictly and encodes exactly like the official maths; with
CLAMP_OFFICIAL_CHECKPOINT set, real weights reproduce the official WikiMT features."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

from clamp_core.model.checkpoint import load_model
from clamp_core.notation.patches import patchify
from clamp_core.runtime.torch_encoder import encode_abc, encode_texts

FIXTURES = Path(__file__).parents[1] / "fixtures" / "wikimt"

# The published config.json of clamp-small-512 (a BERT config of the music encoder).
OFFICIAL_CONFIG = {
    "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
    "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_length": 512,
    "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
    "num_hidden_layers": 6, "pad_token_id": 0, "position_embedding_type": "absolute",
    "torch_dtype": "float32", "transformers_version": "4.18.0", "type_vocab_size": 2,
    "use_cache": True, "vocab_size": 1,
}


def _byte_level_vocab() -> dict[str, int]:
    """A minimal byte-level BPE vocabulary (special tokens + one symbol per byte)."""
    visible = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    symbols, extra = {}, 0
    for b in range(256):
        if b in visible:
            symbols[b] = chr(b)
        else:
            symbols[b] = chr(256 + extra)
            extra += 1
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab[symbols[b]] = len(vocab)
    vocab["<mask>"] = len(vocab)
    return vocab


class OfficialReference(nn.Module):
    """The official CLaMP 1 inference maths, re-stated independently of clamp_core."""

    def __init__(self):
        super().__init__()
        self.text_enc = RobertaModel(RobertaConfig(
            vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, num_hidden_layers=6,
            hidden_size=768, num_attention_heads=12, intermediate_size=3072, layer_norm_eps=1e-5,
            pad_token_id=1, bos_token_id=0, eos_token_id=2), add_pooling_layer=True)
        self.text_proj = nn.Linear(768, 768)
        self.patch_embedding = nn.Linear(64 * 98, 768)
        self.music = BertModel(BertConfig(**OFFICIAL_CONFIG), add_pooling_layer=True)
        self.music_proj = nn.Linear(768, 768)

    def state_dict_official(self) -> dict:
        sd = {f"text_enc.{k}": v for k, v in self.text_enc.state_dict().items()}
        # saved by transformers 4.18
        sd["text_enc.embeddings.position_ids"] = torch.arange(514)[None]
        sd.update({f"text_proj.{k}": v for k, v in self.text_proj.state_dict().items()})
        sd.update({f"music_enc.patch_embedding.{k}": v
                   for k, v in self.patch_embedding.state_dict().items()})
        sd.update({f"music_enc.enc.{k}": v for k, v in self.music.state_dict().items()})
        sd["music_enc.enc.embeddings.position_ids"] = torch.arange(512)[None]
        sd.update({f"music_proj.{k}": v for k, v in self.music_proj.state_dict().items()})
        return sd

    @torch.no_grad()
    def music_features(self, abc: str) -> torch.Tensor:
        ids = torch.from_numpy(patchify(abc, max_length=512))[None]
        one_hot = F.one_hot(ids, 98).float().reshape(1, ids.shape[1], -1)
        hidden = self.music(inputs_embeds=self.patch_embedding(one_hot)).last_hidden_state
        return self.music_proj(hidden.mean(1))[0]

    @torch.no_grad()
    def text_features(self, input_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.text_enc(input_ids=input_ids).last_hidden_state
        return self.text_proj(hidden.mean(1))[0]


@pytest.fixture(scope="module")
def official_folder(tmp_path_factory):
    torch.manual_seed(0)
    ref = OfficialReference().eval()
    folder = tmp_path_factory.mktemp("clamp-small-512")
    sd = ref.state_dict_official()
    torch.save(sd, folder / "pytorch_model.bin")
    (folder / "config.json").write_text(json.dumps(OFFICIAL_CONFIG))
    (folder / "vocab.json").write_text(json.dumps(_byte_level_vocab()))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder, ref, sd


def test_official_key_set_and_sizes(official_folder):
    _, _, sd = official_folder
    # Facts of the published checkpoint: 214 entries, 131,632,128 float parameters.
    assert len(sd) == 214
    assert sum(v.numel() for v in sd.values() if v.is_floating_point()) == 131_632_128
    assert sd["music_enc.patch_embedding.weight"].shape == (768, 6272)


def test_official_folder_loads_strictly_and_encodes_like_official(official_folder, wikimt):
    folder, ref, sd = official_folder
    model = load_model(folder)
    assert model.config.official and model.config.max_length == 512
    loaded = model.state_dict()
    assert set(loaded) == {k for k in sd if not k.endswith("position_ids")}
    assert all(torch.equal(loaded[k], sd[k]) for k in loaded)
    abcs = [wikimt[i]["abc"] for i in (0, 1, 57, 400)]
    ours = torch.from_numpy(encode_abc(model, abcs, batch_size=4))
    for abc, feat in zip(abcs, ours, strict=True):
        official = ref.music_features(abc)
        assert F.cosine_similarity(feat, official, dim=0) > 0.99999
        assert (feat - official).abs().max() < 1e-3
    text = "It is composed by Chopin"
    ids = model.tokenize([text])["input_ids"]
    assert ids[0, 0] == 0 and ids[0, -1] == 2  # <s> ... </s>, as RoBERTa tokenises
    ours_t = torch.from_numpy(encode_texts(model, [text]))[0]
    assert F.cosine_similarity(ours_t, ref.text_features(ids), dim=0) > 0.99999


def test_official_folder_without_tokenizer_is_refused(official_folder, tmp_path):
    from clamp_core.errors import ClampError

    folder, _, _ = official_folder
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((folder / "config.json").read_text())
    os.symlink(folder / "pytorch_model.bin", bare / "pytorch_model.bin")
    with pytest.raises(ClampError, match="vocab.json and merges.txt"):
        load_model(bare)


@pytest.mark.skipif(not os.environ.get("CLAMP_OFFICIAL_CHECKPOINT"),
                    reason="set CLAMP_OFFICIAL_CHECKPOINT to an official "
                           "clamp-small-512/1024 folder")
def test_real_official_checkpoint_reproduces_official_features(wikimt):
    model = load_model(os.environ["CLAMP_OFFICIAL_CHECKPOINT"])
    size = model.config.max_length
    expected = np.load(FIXTURES / f"official_music_features_clamp_small_{size}.f16.npy")
    expected = expected.astype(np.float32)
    ours = encode_abc(model, [r["abc"] for r in wikimt], batch_size=16)
    cos = (ours * expected).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(expected, axis=1)
    assert cos.min() >= 0.9999, f"worst row {cos.argmin()}: cosine {cos.min():.6f}"
    prompts = json.loads((FIXTURES / "official_text_prompts.json").read_text())
    expected_t = np.load(FIXTURES / f"official_text_features_clamp_small_{size}.npy")
    ours_t = encode_texts(model, prompts)
    cos_t = ((ours_t * expected_t).sum(1) / np.linalg.norm(ours_t, axis=1)
             / np.linalg.norm(expected_t, axis=1))
    assert cos_t.min() >= 0.9999
