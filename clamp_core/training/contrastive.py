"""Contrastive training of a CLaMP model on (score, text candidates) records, with text dropout.

Records are JSON lines ``{id, abc, texts[], labels{}, split}`` as written by ``clamp dataset
build``. Each step pairs a piece with a text made by CLaMP's text dropout: every candidate is
kept with a probability, the kept ones are shuffled and joined.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from clamp_core.datasets.records import load_records
from clamp_core.errors import ClampError
from clamp_core.model.checkpoint import create_model, load_model, save_model
from clamp_core.model.config import ClampConfig
from clamp_core.model.loss import contrastive_loss
from clamp_core.model.modelling import ClampModel
from clamp_core.notation.patches import pad_batch, patchify
from clamp_core.notation.variants import plain_abc, rebeam_abc
from clamp_core.training.distributed import DistInfo, cleanup, gather_with_grad, init_distributed
from clamp_core.training.loop import TrainConfig, train_loop

log = logging.getLogger(__name__)


def oversample(records: list[dict], repeats: dict[str, int] | None) -> list[dict]:
    """Each record of a collection named in ``repeats`` appears that many times (balances a
    corpus where, say, 8,500 folk songs would drown 1,200 Lieder)."""
    if not repeats:
        return records
    out = []
    for r in records:
        out.extend([r] * max(1, int(repeats.get(r.get("labels", {}).get("collection"), 1))))
    return out


def _patch_table(abcs: list[str]) -> list[np.ndarray]:
    """Patches of each piece, stored as uint8 (ids < 98): an eighth of int64's memory, which
    matters when a corpus of 20,000 pieces is held three times (as written and two variants)."""
    cache: dict[str, np.ndarray] = {}  # oversampled records repeat a piece: patchify it once
    out = []
    for a in abcs:
        if a not in cache:
            cache[a] = patchify(a, max_length=None).astype(np.uint8)
        out.append(cache[a])
    return out


def _variant_tables(records: list[dict], seed: int) -> list[list[np.ndarray]]:
    """Two variants of each training piece, fixed per (seed, record): its plain notes re-beamed,
    and its full text re-beamed."""
    def rng(kind: int, n: int) -> np.random.Generator:
        return np.random.default_rng([seed, kind, n])
    return [_patch_table([rebeam_abc(plain_abc(r["abc"]), rng(0, n))
                          for n, r in enumerate(records)]),
            _patch_table([rebeam_abc(r["abc"], rng(1, n)) for n, r in enumerate(records)])]


def text_dropout(candidates: list[str], rng: np.random.Generator, keep_prob: float = 0.5,
                 sep: str = ". ") -> str:
    """CLaMP text dropout: keep each candidate with ``keep_prob`` (at least one), shuffle, join."""
    kept = [c for c in candidates if rng.random() < keep_prob]
    if not kept:
        kept = [candidates[int(rng.integers(len(candidates)))]]
    rng.shuffle(kept)
    return sep.join(kept)


def crop_patches(patches: np.ndarray, max_length: int,
                 rng: np.random.Generator | None) -> np.ndarray:
    """A window of at most ``max_length`` patches: random in training, the head otherwise."""
    start = window_start(len(patches), max_length, rng)
    return patches[start:start + max_length]


def window_start(n: int, max_length: int, rng: np.random.Generator | None) -> int:
    """Where a window of at most ``max_length`` of ``n`` patches starts (random in training)."""
    return 0 if n <= max_length or rng is None else int(rng.integers(n - max_length + 1))


@dataclass
class PairBatcher:
    """Builds contrastive batches; deterministic in (seed, epoch, example) for exact resumes."""

    model: ClampModel
    patches: list[np.ndarray]
    texts: list[list[str]]
    seed: int = 0
    keep_prob: float = 0.5
    max_patches: int | None = None  # training window; None: the model's max_length
    variants: list[list[np.ndarray]] | None = None  # other writings of each training piece
    variant_prob: float = 0.0
    paired: bool = False  # also return the other writing of each piece (consistency loss)

    def _paired_views(self, i: int, rng: np.random.Generator, max_len: int) -> tuple:
        """The piece as written and its first variant (the most different one: plain notes,
        re-beamed), in random order, cut at one window (a variant has the same bars)."""
        written, variant = self.patches[i], self.variants[0][i]
        main, other = (variant, written) if rng.random() < self.variant_prob else (written, variant)
        start = window_start(min(len(main), len(other)), max_len, rng)
        return main[start:start + max_len], other[start:start + max_len]

    def _training_view(self, i: int, rng: np.random.Generator) -> np.ndarray:
        """The piece as written or, with probability ``variant_prob``, one of its variants."""
        if self.variants and self.variant_prob > 0 and rng.random() < self.variant_prob:
            return self.variants[int(rng.integers(len(self.variants)))][i]
        return self.patches[i]

    def __call__(self, indices: list[int], epoch: int, train: bool = True) -> dict:
        max_len = min(self.max_patches or self.model.config.max_length,
                      self.model.config.max_length)
        if train:  # one generator per example: the same batch whatever the process split
            rngs = [np.random.default_rng([self.seed, epoch, i]) for i in indices]
            if self.paired and self.variants:  # rows B..2B-1: the same pieces, written otherwise
                pairs = [self._paired_views(i, r, max_len)
                         for i, r in zip(indices, rngs, strict=True)]
                crops = [p[0] for p in pairs] + [p[1] for p in pairs]
            else:
                crops = [crop_patches(self._training_view(i, r), max_len, r)
                         for i, r in zip(indices, rngs, strict=True)]
            texts = [text_dropout(self.texts[i], r, self.keep_prob)
                     for i, r in zip(indices, rngs, strict=True)]
        else:
            crops = [crop_patches(self.patches[i], max_len, None) for i in indices]
            texts = [". ".join(self.texts[i]) for i in indices]
        ids, mask = pad_batch(crops)
        tok = self.model.tokenize(texts)
        return {"music_ids": torch.from_numpy(ids), "music_mask": torch.from_numpy(mask), **tok}


def make_step_loss(info: DistInfo, paired_weight: float = 4.0):
    """The text loss, plus ``paired_weight`` x the mean cosine distance of paired writings."""
    def step_loss(net, batch: dict) -> torch.Tensor:
        music, text, scale = net(batch["music_ids"], batch["music_mask"],
                                 batch["input_ids"], batch["attention_mask"])
        n = len(text)
        main = gather_with_grad(music[:n].float(), info)
        loss = contrastive_loss(main, gather_with_grad(text.float(), info), scale.float())
        if len(music) == 2 * n:  # paired writings must encode alike (cosine near 1): contrast with
            # the other pieces alone was met long before a song's two writings were close
            cos = torch.nn.functional.cosine_similarity(music[:n].float(), music[n:].float(),
                                                        dim=-1)
            loss = loss + paired_weight * (1 - cos).mean()
        return loss
    return step_loss


@torch.inference_mode()
def validation_retrieval(model: ClampModel, batcher: PairBatcher, indices: list[int],
                      batch_size: int = 64) -> dict:
    """Validation loss over the whole set at once, and music->text / text->music top-1 and MRR."""
    device = next(model.parameters()).device
    music, text = [], []
    for s in range(0, len(indices), batch_size):
        b = batcher(indices[s:s + batch_size], 0, train=False)
        b = {k: v.to(device) for k, v in b.items()}
        m, t, _ = model(b["music_ids"], b["music_mask"], b["input_ids"], b["attention_mask"])
        music.append(m.float())
        text.append(t.float())
    m, t = torch.cat(music), torch.cat(text)
    out = {"val_loss": float(contrastive_loss(m, t, model.logit_scale.exp().float()))}
    sims = torch.nn.functional.normalize(m, dim=-1) @ torch.nn.functional.normalize(t, dim=-1).t()
    for name, s in (("music_to_text", sims), ("text_to_music", sims.t())):
        ranks = (s > s.diag()[:, None]).sum(1) + 1
        out[f"{name}_top1"] = float((ranks == 1).float().mean())
        out[f"{name}_mrr"] = float((1.0 / ranks.float()).mean())
    return out


def train_contrastive(
    data: str | Path,
    cfg: TrainConfig,
    init: str | None = None,
    model_config: ClampConfig | None = None,
    freeze_text: bool = True,
    keep_prob: float = 0.5,
    device: str = "cpu",
    max_val: int = 512,
    max_patches: int | None = None,
    repeats: dict[str, int] | None = None,
    variant_prob: float = 0.0,
    paired: bool = False,
    paired_weight: float = 4.0,
) -> dict:
    """Train (or resume) into ``cfg.output_dir``; ``init`` is a model folder to start from (e.g.
    the output of masked-patch pre-training), else a new model from ``model_config``.
    ``max_patches`` bounds the random training window of long pieces (speed); ``repeats`` maps a
    collection to how many times its training works are seen per epoch; ``variant_prob`` is the
    chance that a training piece is seen as another program might write it: re-beamed, with or
    without its annotations, decorations, grace notes and slurs (MIDI and MuseScore 4's cursor
    walk carry none of them and beam by default; they must encode like the MusicXML); with
    ``paired`` a second loss term also pulls each piece and its variant together, which the text
    loss alone does not do when a text names what only the marks say (a tempo word, say)."""
    info = init_distributed()
    try:
        torch.manual_seed(cfg.seed)
        train_recs, val_recs = load_records(data, "train"), load_records(data, "val")
        train_recs = oversample(train_recs, repeats)
        if not train_recs:
            raise ClampError(f"{data}: no training records (split 'train')")
        model = (load_model(init) if init
                 else create_model(model_config or ClampConfig(), seed=cfg.seed))
        if freeze_text:
            model.freeze_text_encoder()
        recs = train_recs + val_recs
        n_train = len(train_recs)
        patches = _patch_table([r["abc"] for r in recs])
        variants = _variant_tables(train_recs, cfg.seed) if variant_prob > 0 else None
        batcher = PairBatcher(model, patches, [r["texts"] for r in recs], cfg.seed, keep_prob,
                              max_patches, variants, variant_prob, paired)
        val_idx = list(range(n_train, n_train + min(len(val_recs), max_val)))
        out = Path(cfg.output_dir)

        def save(folder: Path) -> None:
            save_model(model, folder, include_text_encoder=None if freeze_text else True)

        def load_state(folder: Path) -> None:
            from clamp_core.model.checkpoint import read_state_dict

            model.load_state_dict(read_state_dict(folder), strict=False)

        metrics = train_loop(
            model, n_train, lambda idx, ep: batcher(idx, ep), make_step_loss(info, paired_weight),
            cfg, info,
            save,
            validate=(lambda m: validation_retrieval(m, batcher, val_idx)) if val_idx else None,
            load_model_state=load_state, device=device, best_metric="text_to_music_mrr",
            lengths=[min(len(p), max_patches or model.config.max_length)
                     for p in patches[:n_train]])
        if info.is_main:
            save(out)
            (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        return metrics
    finally:
        cleanup(info)
