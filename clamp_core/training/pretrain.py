"""Masked-patch pre-training of the music encoder (M3-style, as in CLaMP 2/3).

45% of a piece's patches are selected; of those 80% are replaced by MASK, 10% have their
characters shuffled and 10% stay as they are. A small causal character decoder, seeded with each
selected patch's encoder output, must spell the original patch back.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clamp_core.datasets.records import load_records
from clamp_core.errors import ClampError
from clamp_core.model.checkpoint import create_model, load_model, read_state_dict, save_model
from clamp_core.model.config import ClampConfig
from clamp_core.model.modelling import MusicEncoder
from clamp_core.notation.patches import EOS_ID, MASK_ID, PAD_ID, PATCH_LENGTH, pad_batch, patchify
from clamp_core.training.contrastive import crop_patches
from clamp_core.training.distributed import cleanup, init_distributed
from clamp_core.training.loop import TrainConfig, train_loop

DECODER_FILE = "patch_decoder.safetensors"


def corrupt_patches(patches: np.ndarray, rng: np.random.Generator, ratio: float = 0.45,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Corrupted copy of [P, 64] patches and the boolean selection [P] the loss is taken on."""
    n = len(patches)
    out = patches.copy()
    selected = np.zeros(n, dtype=bool)
    chosen = rng.choice(n, size=min(n, math.ceil(ratio * n)), replace=False)
    selected[chosen] = True
    for i in chosen:
        r = rng.random()
        if r < 0.8:
            out[i] = MASK_ID
        elif r < 0.9:
            stops = np.flatnonzero((out[i] == EOS_ID) | (out[i] == PAD_ID))
            length = int(stops[0]) if len(stops) else PATCH_LENGTH
            out[i, :length] = rng.permutation(out[i, :length])
    return out, selected


class PatchDecoder(nn.Module):
    """Causal character decoder: [patch vector, c_0 .. c_62] -> logits for c_0 .. c_63."""

    def __init__(self, hidden: int, layers: int = 2, heads: int = 4, vocab: int = 98):
        super().__init__()
        self.char_emb = nn.Embedding(vocab, hidden)
        self.pos_emb = nn.Parameter(torch.zeros(PATCH_LENGTH, hidden))
        layer = nn.TransformerEncoderLayer(hidden, heads, 4 * hidden, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, vocab)
        nn.init.normal_(self.pos_emb, std=0.02)

    def forward(self, patch_vec: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x = torch.cat([patch_vec[:, None], self.char_emb(targets[:, :-1])], dim=1) + self.pos_emb
        causal = nn.Transformer.generate_square_subsequent_mask(PATCH_LENGTH, device=x.device)
        return self.head(self.norm(self.blocks(x, mask=causal, is_causal=True)))


class MaskedPatchModel(nn.Module):
    """Music encoder + character decoder; the loss is cross-entropy over the selected patches,
    on every character up to and including the patch's own EOS."""

    def __init__(self, music_enc: MusicEncoder, decoder: PatchDecoder,
                 max_decoded: int | None = None):
        super().__init__()
        self.music_enc = music_enc
        self.decoder = decoder
        # The decoder sees 64 positions per selected patch, 15x the encoder's tokens on folk
        # tunes; on a CPU budget spell out a random subset of the selected patches only.
        self.max_decoded = max_decoded

    def forward(self, ids, mask, targets, selected) -> torch.Tensor:
        hidden = self.music_enc(ids, mask)
        sel = (selected.bool() & mask.bool()).nonzero(as_tuple=True)
        if self.max_decoded and len(sel[0]) > self.max_decoded:
            keep = torch.randperm(len(sel[0]), device=ids.device)[: self.max_decoded]
            sel = (sel[0][keep], sel[1][keep])
        tgt = targets[sel]  # [N, 64]
        logits = self.decoder(hidden[sel].float(), tgt)
        # Positions after the first EOS/PAD carry no information: leave them out.
        stop = (tgt == EOS_ID) | (tgt == PAD_ID)
        after = torch.cumsum(stop.int(), dim=1) - stop.int() > 0
        weight = (~after).float()
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                             reduction="none")
        return (ce * weight.reshape(-1)).sum() / weight.sum().clamp(min=1)


def pretrain_music(
    data: str | Path,
    cfg: TrainConfig,
    init: str | None = None,
    model_config: ClampConfig | None = None,
    decoder_layers: int = 2,
    device: str = "cpu",
    max_patches: int | None = None,
    max_decoded: int | None = None,
) -> dict:
    """Pre-train the music tower into ``cfg.output_dir`` (a model folder usable as ``--init``)."""
    info = init_distributed()
    try:
        torch.manual_seed(cfg.seed)
        recs = load_records(data, "train")
        if not recs:
            raise ClampError(f"{data}: no training records (split 'train')")
        model = (load_model(init) if init
                 else create_model(model_config or ClampConfig(), seed=cfg.seed))
        hidden = model.config.music_hidden_size
        decoder = PatchDecoder(hidden, decoder_layers, heads=max(1, hidden // 64))
        net = MaskedPatchModel(model.music_enc, decoder, max_decoded)
        patches = [patchify(r["abc"], max_length=None) for r in recs]
        max_len = min(max_patches or model.config.max_length, model.config.max_length)

        def make_batch(indices: list[int], epoch: int) -> dict:
            rngs = [np.random.default_rng([cfg.seed, epoch, i]) for i in indices]
            originals = [crop_patches(patches[i], max_len, r)
                         for i, r in zip(indices, rngs, strict=True)]
            corrupted = [corrupt_patches(p, r) for p, r in zip(originals, rngs, strict=True)]
            ids, mask = pad_batch([c for c, _ in corrupted])
            targets, _ = pad_batch(originals)
            sel = np.zeros(mask.shape, dtype=np.int64)
            for b, (_, s) in enumerate(corrupted):
                sel[b, : len(s)] = s
            return {"ids": torch.from_numpy(ids), "mask": torch.from_numpy(mask),
                    "targets": torch.from_numpy(targets), "selected": torch.from_numpy(sel)}

        def step_loss(m, batch: dict) -> torch.Tensor:
            return m(batch["ids"], batch["mask"], batch["targets"], batch["selected"])

        def save(folder: Path) -> None:
            from safetensors.torch import save_file

            save_model(model, folder)
            save_file({k: v.contiguous() for k, v in decoder.state_dict().items()},
                      folder / DECODER_FILE)

        def load_state(folder: Path) -> None:
            from safetensors.torch import load_file

            model.load_state_dict(read_state_dict(folder), strict=False)
            decoder.load_state_dict(load_file(folder / DECODER_FILE))

        metrics = train_loop(net, len(recs), make_batch, step_loss, cfg, info, save,
                             load_model_state=load_state, device=device,
                             lengths=[min(len(p), max_len) for p in patches])
        if info.is_main:
            save(Path(cfg.output_dir))
            (Path(cfg.output_dir) / "pretrain_metrics.json").write_text(
                json.dumps(metrics, indent=2))
        return metrics
    finally:
        cleanup(info)
