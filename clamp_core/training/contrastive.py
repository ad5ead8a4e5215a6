"""Contrastive training of a CLaMP model on (score, text candidates) records, with text dropout.

Records are JSON lines ``{id, abc, texts[], labels{}, split}`` as written by ``clamp dataset
build``. Each step pairs a piece with a text made by CLaMP's text dropout: every candidate is
kept with a probability, the kept ones are shuffled and joined. A piece may be seen as another
program writes it (variants) and in another key (transposition, with the key names of its texts
moved along).
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
from clamp_core.notation.transpose import TRAINING_INTERVALS, transpose_record
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
    matters when a corpus of 30,000 pieces is held up to six times (as written, two variants, and
    the three of them transposed)."""
    cache: dict[str, np.ndarray] = {}  # oversampled records repeat a piece: patchify it once
    out = []
    for a in abcs:
        if a not in cache:
            cache[a] = patchify(a, max_length=None).astype(np.uint8)
        out.append(cache[a])
    return out


def plain_variant_abc(abc: str, seed: int, n: int, kind: int = 0) -> str:
    """Record ``n``'s first training variant: its plain notes, re-beamed as fixed per
    (seed, kind, record); what MIDI or MuseScore 4's cursor walk give of the score."""
    return rebeam_abc(plain_abc(abc), np.random.default_rng([seed, kind, n]))


def _variant_tables(records: list[dict], seed: int, kinds: tuple[int, int] = (0, 1),
                    ) -> list[list[np.ndarray]]:
    """Two variants of each training piece, fixed per (seed, record): its plain notes re-beamed,
    and its full text re-beamed (``kinds`` seed the re-beaming of each)."""
    return [_patch_table([plain_variant_abc(r["abc"], seed, n, kinds[0])
                          for n, r in enumerate(records)]),
            _patch_table([rebeam_abc(r["abc"], np.random.default_rng([seed, kinds[1], n]))
                          for n, r in enumerate(records)])]


@dataclass
class Transposed:
    """Every training piece in another key: its writing, its variants (as ``_variant_tables``,
    when variants are trained) and its texts with their key names moved."""

    patches: list[np.ndarray]
    texts: list[list[str]]
    variants: list[list[np.ndarray]] | None
    semitones: list[int]  # the interval of each piece; 0 where it stays as written


def transposed_tables(records: list[dict], seed: int, variants: bool) -> Transposed:
    """Each training piece moved by an interval drawn from ``TRAINING_INTERVALS`` (a fourth
    down to a tritone up), fixed per (seed, record) like the variants: notes, K: fields, chord
    symbols, and the key names and range of its texts. A piece that cannot be moved reliably
    (an unknown K:, notes out of range, or no text left true) stays as written."""
    moved, shifts = [], []
    for n, r in enumerate(records):
        semitones = int(np.random.default_rng([seed, 2, n]).choice(TRAINING_INTERVALS))
        out = transpose_record(r, semitones)
        moved.append(out or r)
        shifts.append(semitones if out is not None else 0)
    log.info("transposed %d of %d training pieces", sum(1 for s in shifts if s), len(records))
    return Transposed(_patch_table([r["abc"] for r in moved]), [r["texts"] for r in moved],
                      _variant_tables(moved, seed, (3, 4)) if variants else None, shifts)


def text_dropout(candidates: list[str], rng: np.random.Generator, keep_prob: float = 0.5,
                 sep: str = ". ") -> str:
    """CLaMP text dropout: keep each candidate with ``keep_prob`` (at least one), shuffle, join."""
    return join_candidates(candidates, dropout_indices(len(candidates), rng, keep_prob), sep)


def join_candidates(candidates: list[str], indices: list[int], sep: str = ". ") -> str:
    """The text that joins these candidates, as text dropout joins what it keeps."""
    return sep.join(candidates[i] for i in indices)


def dropout_indices(n: int, rng: np.random.Generator, keep_prob: float = 0.5) -> list[int]:
    """Which of ``n`` candidates text dropout keeps, in the order it joins them."""
    kept = [i for i in range(n) if rng.random() < keep_prob]
    if not kept:
        kept = [int(rng.integers(n))]
    rng.shuffle(kept)
    return kept


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
    transposed: Transposed | None = None  # each training piece in another key
    transpose_prob: float = 0.0

    def _transposes(self, i: int, rng: np.random.Generator) -> bool:
        """Whether example ``i`` is seen in its other key. Drawn only when asked for, so a run
        without transposition draws exactly what it drew before the option existed."""
        t = self.transposed
        return (t is not None and self.transpose_prob > 0 and i < len(t.patches)
                and rng.random() < self.transpose_prob)

    def _paired_views(self, i: int, rng: np.random.Generator, max_len: int,
                      transposed: bool = False) -> tuple:
        """The piece as written and its first variant (the most different one: plain notes,
        re-beamed), in random order, cut at one window (a variant has the same bars); both in
        the other key when ``transposed``."""
        t = self.transposed
        if transposed and t is not None:
            written = t.patches[i]
            variant = t.variants[0][i] if t.variants else written
        else:
            written, variant = self.patches[i], self.variants[0][i]
        main, other = (variant, written) if rng.random() < self.variant_prob else (written, variant)
        start = window_start(min(len(main), len(other)), max_len, rng)
        return main[start:start + max_len], other[start:start + max_len]

    def _training_view(self, i: int, rng: np.random.Generator,
                       transposed: bool = False) -> np.ndarray:
        """The piece as written or, with probability ``variant_prob``, one of its variants; in
        the other key when ``transposed``."""
        t = self.transposed
        patches, variants = ((t.patches, t.variants) if transposed and t is not None
                             else (self.patches, self.variants))
        if variants and self.variant_prob > 0 and rng.random() < self.variant_prob:
            return variants[int(rng.integers(len(variants)))][i]
        return patches[i]

    def _example(self, i: int, rng: np.random.Generator, max_len: int,
                 ) -> tuple[tuple[np.ndarray, ...], list[str]]:
        """The training view(s) of example ``i`` (two with the paired term) and the text
        candidates true of them."""
        moved = self._transposes(i, rng)
        texts = self.transposed.texts[i] if moved else self.texts[i]  # type: ignore[union-attr]
        if self.paired and self.variants:
            return self._paired_views(i, rng, max_len, moved), texts
        return (crop_patches(self._training_view(i, rng, moved), max_len, rng),), texts

    def __call__(self, indices: list[int], epoch: int, train: bool = True) -> dict:
        max_len = min(self.max_patches or self.model.config.max_length,
                      self.model.config.max_length)
        if train:  # one generator per example: the same batch whatever the process split
            rngs = [np.random.default_rng([self.seed, epoch, i]) for i in indices]
            examples = [self._example(i, r, max_len) for i, r in zip(indices, rngs, strict=True)]
            # with the paired term, rows B..2B-1 hold the same pieces, written otherwise
            crops = [views[k] for k in range(len(examples[0][0])) for views, _ in examples]
            texts = [text_dropout(cands, r, self.keep_prob)
                     for (_, cands), r in zip(examples, rngs, strict=True)]
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
    transpose_prob: float = 0.0,
) -> dict:
    """Train (or resume) into ``cfg.output_dir``; ``init`` is a model folder to start from (e.g.
    the output of masked-patch pre-training), else a new model from ``model_config``.
    ``max_patches`` bounds the random training window of long pieces (speed); ``repeats`` maps a
    collection to how many times its training works are seen per epoch; ``variant_prob`` is the
    chance that a training piece is seen as another program might write it: re-beamed, with or
    without its annotations, decorations, grace notes and slurs (MIDI and MuseScore 4's cursor
    walk carry none of them and beam by default; they must encode like the MusicXML); with
    ``paired`` a second loss term also pulls each piece and its variant together, which the text
    loss alone does not do when a text names what only the marks say (a tempo word, say);
    ``transpose_prob`` is the chance that a training piece is seen in another key (a fixed
    interval per piece, from a fourth down to a tritone up), in any of its writings, with the key
    names and range of its texts moved along (``transposed_tables``)."""
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
        transposed = (transposed_tables(train_recs, cfg.seed, variants is not None)
                      if transpose_prob > 0 else None)
        batcher = PairBatcher(model, patches, [r["texts"] for r in recs], cfg.seed, keep_prob,
                              max_patches, variants, variant_prob, paired, transposed,
                              transpose_prob)
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
