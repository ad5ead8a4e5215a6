"""Tune the heads of a trained model: its text projection (``text_proj``) and temperature,
against the music space the model already has, and optionally the music projection
(``music_proj``) too.

Both encoders are locked, so each piece is encoded once and each sampled text once; an epoch is
then a few matrix products, seconds on a CPU where a full training step takes one and a half.
With the text head alone, music vectors stay exactly as they are (an index still re-encodes on
its next update: the model fingerprint covers the text side too). What it mends: a music space
that holds a fact (a linear probe reads the ensemble at 0.96) while the text side does not point
at it (zero-shot 0.56). Tuning ``music_proj`` as well lets the space itself weigh the directions
that hold a fact (a folk song's region, a song's composer) which cosine similarity otherwise
drowns in the directions that vary most; the music encoder's pooled states are cached instead.

Model selection reads the validation split through the evaluation's own zero-shot tasks and
title-free description queries, so the epoch kept is the one a user's phrases work best with.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from clamp_core.datasets.records import load_records
from clamp_core.errors import ClampError
from clamp_core.evaluation.metrics import accuracy
from clamp_core.evaluation.report import evaluate_retrieval, zero_shot
from clamp_core.evaluation.tasks import task_sets
from clamp_core.model.checkpoint import load_model, save_model
from clamp_core.model.modelling import ClampModel
from clamp_core.runtime.batching import encode_text_batches
from clamp_core.runtime.encoder import l2_normalise
from clamp_core.runtime.feature_cache import (
    FeatureTable,
    cached_rows,
    item_key,
    pooled_music,
    pooled_table,
)
from clamp_core.runtime.torch_encoder import encode_abc
from clamp_core.training.contrastive import dropout_indices, join_candidates
from clamp_core.training.head_pairs import variant_pairs

log = logging.getLogger(__name__)

MAX_LOG_SCALE = float(np.log(100.0))  # CLIP's bound on the inverse temperature


@dataclass
class TextHeadConfig:
    epochs: int = 30
    batch_size: int = 1024
    lr: float = 1e-3
    texts_per_work: int = 8  # text-dropout samples cached per training piece
    keep_prob: float = 0.5  # CLaMP text dropout, as in full training
    single_share: float = 0.25  # of the samples, one candidate alone (a phrase a user types)
    seed: int = 0
    max_val: int = 1000  # validation queries (title-free descriptions)
    anchor: float = 0.0  # weight of the squared distance to the given head (keeps what it knew)
    shared_positives: bool = True  # a text is a positive of every piece it truly describes
    music_head: bool = False  # tune music_proj too (music vectors change; encoder stays locked)
    paired_weight: float = 0.0  # with music_head: x the cosine distance of a piece's two writings
    paired_pieces: int = 4000  # training pieces whose plain re-beamed variant is encoded
    paired_floor: float = 1.0  # pairs whose cosine is at least this are not pulled (1: all are)
    max_val_pairs: int = 500  # val pieces whose variant cosine is reported (with music_head)


@torch.inference_mode()
def pooled_texts(model: ClampModel, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
    """The locked text encoder's features of each text (before ``text_proj``), in the runtime's
    length-sorted batches."""
    def run(batch: list[str]) -> np.ndarray:
        tok = model.tokenize(batch)
        return model.pool_text(tok["input_ids"], tok["attention_mask"]).float().numpy()

    return encode_text_batches(model.text_proj.in_features, texts, run, batch_size)


def sample_parts(records: list[dict], cfg: TextHeadConfig) -> list[list[list[int]]]:
    """``texts_per_work`` samples per record, each the indices of the candidates it joins; fixed
    per (seed, record id), so a larger cut of the same corpus draws the same texts for the
    records it shares: CLaMP text dropout, and a share of single candidates."""
    out = []
    for n, r in enumerate(records):
        rng = np.random.default_rng([cfg.seed, 7, int(item_key(str(r.get("id", n)))[:12], 16)])
        k = len(r["texts"])
        out.append([[int(rng.integers(k))] if rng.random() < cfg.single_share
                    else dropout_indices(k, rng, cfg.keep_prob)
                    for _ in range(cfg.texts_per_work)])
    return out


def sample_texts(records: list[dict], cfg: TextHeadConfig,
                 parts: list[list[list[int]]] | None = None) -> list[list[str]]:
    """The texts of :func:`sample_parts` (or of ``parts`` drawn by it), joined as CLaMP text
    dropout joins them."""
    parts = sample_parts(records, cfg) if parts is None else parts
    return [[join_candidates(r["texts"], p) for p in samples]
            for r, samples in zip(records, parts, strict=True)]


def described(sample_sets: Sequence[frozenset], piece_sets: Sequence[frozenset]) -> np.ndarray:
    """``out[i, j]``: every candidate text sample ``i`` joins is one of piece ``j``'s own, so
    it describes piece ``j`` too ("in a minor key" fits every minor piece that says so). The
    sets hold candidate ids; columns are limited to the ids the samples use."""
    cols = {c: n for n, c in enumerate(frozenset().union(*sample_sets))}
    s = np.zeros((len(sample_sets), len(cols)), np.float32)
    p = np.zeros((len(piece_sets), len(cols)), np.float32)
    for i, parts in enumerate(sample_sets):
        s[i, [cols[c] for c in parts]] = 1
    for j, parts in enumerate(piece_sets):
        p[j, [cols[c] for c in parts if c in cols]] = 1
    return (s @ p.T) >= s.sum(1, keepdims=True)


def _candidate_sets(records: list[dict], parts: list[list[list[int]]]
                    ) -> tuple[list[frozenset], list[list[frozenset]]]:
    """Each piece's candidates and each sample's, as sets of ids shared by equal strings."""
    ids: dict[str, int] = {}
    pieces = [frozenset(ids.setdefault(t, len(ids)) for t in r["texts"]) for r in records]
    samples = [[frozenset(ids[r["texts"][i]] for i in p) for p in ps]
               for r, ps in zip(records, parts, strict=True)]
    return pieces, samples


class HeadEncoder:
    """An Encoder over cached features: music looked up by its ABC (projected vectors, or with
    ``project`` the pooled states through the ``music_proj`` being tuned), texts through the
    locked text encoder and the head being tuned. The evaluation's own tasks run on it
    unchanged."""

    backend, device, precision, folder = "torch", "cpu", "fp32", None

    def __init__(self, model: ClampModel, music: dict[str, np.ndarray], project: bool = False):
        self.model, self.config, self.name = model, model.config, "text-head"
        self._music, self._project = music, project
        self._pooled: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        return self.config.projection_dim

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp())

    @property
    def fingerprint(self) -> str:
        return "text-head"

    def encode_abc(self, abcs: Sequence[str], batch_size: int = 16) -> np.ndarray:
        missing = [a for a in abcs if a not in self._music]
        if missing:
            encode = pooled_music if self._project else encode_abc
            self._music.update(zip(missing, encode(self.model, missing), strict=True))
        rows = np.stack([self._music[a] for a in abcs])
        if not self._project:
            return rows
        with torch.inference_mode():
            return self.model.music_proj(torch.from_numpy(rows)).numpy()

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._pooled))
        if todo:
            self._pooled.update(zip(todo, pooled_texts(self.model, todo), strict=True))
        pooled = torch.from_numpy(np.stack([self._pooled[t] for t in texts]))
        return self.model.text_proj(pooled).numpy()


def validation_score(encoder: HeadEncoder, tasks: list, val: list[dict], max_val: int) -> dict:
    """Zero-shot accuracy of every benchmark task on the val split (``tasks``: the evaluation's
    task sets of it, built once), and title-free description MRR; ``score`` is their mean (what
    the tuner keeps the best epoch by)."""
    accs = {}
    for task, recs, prompts in tasks:
        pred = zero_shot(encoder, encoder.encode_abc([r["abc"] for r in recs]), prompts)
        truth = [r["labels"][task.label] for r in recs]
        accs[task.name] = round(accuracy(truth, pred), 4)
    mrr = evaluate_retrieval(encoder, val, max_n=max_val)["text_to_music_description"]["mrr"]
    return {"zero_shot": accs, "description_mrr": round(mrr, 4),
            "score": round(float(np.mean([*accs.values(), mrr])), 4)}


def _epoch(head: torch.nn.Linear, scale: torch.nn.Parameter, opt: torch.optim.Optimizer,
           music, texts: torch.Tensor, weights: np.ndarray, batch_size: int,
           rng: np.random.Generator, anchor: tuple[float, list] = (0.0, []),
           positives=None, paired=None) -> float:
    """One pass: batches of distinct pieces drawn by weight, one cached text of each. ``music``
    maps piece indices to their normalised vectors. Each text's targets are its own piece or,
    with ``positives(idx, which)``, every piece it describes (and each piece's, every text that
    describes it), shared evenly. ``anchor``: a weight and (tensor, its start) pairs.
    ``paired(rng)``: a further loss term, drawn afresh each step."""
    n, k = texts.shape[:2]
    steps = max(1, int(round(weights.sum() / batch_size)))
    p = weights / weights.sum()
    losses = []
    for _ in range(steps):
        idx = rng.choice(n, size=min(batch_size, n), replace=False, p=p)
        which = rng.integers(k, size=len(idx))
        t = torch.nn.functional.normalize(head(texts[idx, which]), dim=-1)
        logits = scale.exp() * t @ music(idx).T
        pos = (torch.eye(len(idx)) if positives is None
               else torch.from_numpy(positives(idx, which).astype(np.float32)))
        # targets spread evenly over each row's positives (one a row: the usual loss)
        loss = (torch.nn.functional.cross_entropy(logits, pos / pos.sum(1, keepdim=True))
                + torch.nn.functional.cross_entropy(logits.T, pos.T / pos.T.sum(1, keepdim=True))
                ) / 2
        if anchor[0]:
            loss = loss + anchor[0] * sum((w - w0).pow(2).sum() for w, w0 in anchor[1])
        if paired is not None:
            loss = loss + paired(rng)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            scale.clamp_(0.0, MAX_LOG_SCALE)
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


def tune_text_head(data: str | Path, init: str | Path, out: str | Path,
                   cfg: TextHeadConfig | None = None,
                   repeats: dict[str, int] | None = None,
                   cache_dir: str | Path | None = None) -> dict:
    """Tune ``init``'s text head on ``data``'s training split, keep the epoch that scores best on
    val (zero-shot tasks + description MRR), and write the model to ``out``."""
    cfg = cfg or TextHeadConfig()
    t0 = time.time()
    torch.manual_seed(cfg.seed)
    train, val = load_records(data, "train"), load_records(data, "val")
    if not train or not val:
        raise ClampError(f"{data}: tuning the text head needs train and val records")
    model = load_model(init).eval()
    model.requires_grad_(False)
    cache = Path(cache_dir or Path(out) / "features")
    abcs = list(dict.fromkeys(r["abc"] for r in train + val))
    log.info("encoding %d pieces (cached in %s)", len(abcs), cache)
    # one table of pooled states for the pieces (and their variants), read from disk once and
    # shared with every model of the same music encoder (evaluate --features uses it too)
    states = FeatureTable(pooled_table(model, cache))
    table = states.rows(abcs, lambda todo: pooled_music(model, todo))
    if not cfg.music_head:  # music vectors stay as given: project them once
        with torch.no_grad():
            table = l2_normalise(model.music_proj(torch.from_numpy(table)).numpy())
    by_abc = dict(zip(abcs, table, strict=True))
    parts = sample_parts(train, cfg)
    flat = [t for texts in sample_texts(train, cfg, parts) for t in texts]
    log.info("text encoder features of %d sampled texts", len(flat))
    pooled = cached_rows(cache / f"texts-{item_key(model.config.text_package or '')}.npz", flat,
                         lambda todo: pooled_texts(model, todo))
    texts = torch.from_numpy(pooled).view(len(train), cfg.texts_per_work, -1)
    rows = torch.from_numpy(np.stack([by_abc[r["abc"]] for r in train]))
    if cfg.music_head:
        def music(idx: np.ndarray) -> torch.Tensor:
            return torch.nn.functional.normalize(model.music_proj(rows[idx]), dim=-1)
    else:
        def music(idx: np.ndarray) -> torch.Tensor:
            return rows[idx]
    weights = np.array([float((repeats or {}).get(r["labels"].get("collection"), 1))
                        for r in train])
    positives = None
    if cfg.shared_positives:
        piece_sets, sample_sets = _candidate_sets(train, parts)

        def positives(idx: np.ndarray, which: np.ndarray) -> np.ndarray:
            return described([sample_sets[i][w] for i, w in zip(idx, which, strict=True)],
                             [piece_sets[i] for i in idx])

    paired, val_pairs = None, None
    if cfg.music_head:
        val_pairs = variant_pairs(model, [r["abc"] for r in val[:cfg.max_val_pairs]],
                                  [by_abc[r["abc"]] for r in val[:cfg.max_val_pairs]], states,
                                  cfg.seed, range(min(len(val), cfg.max_val_pairs)))
    if cfg.music_head and cfg.paired_weight > 0:
        chosen = np.sort(np.random.default_rng([cfg.seed, 11]).choice(
            len(train), size=min(cfg.paired_pieces, len(train)), replace=False))
        log.info("encoding the plain re-beamed variants of %d training pieces", len(chosen))
        pairs = variant_pairs(model, [train[i]["abc"] for i in chosen], rows[chosen].numpy(),
                              states, cfg.seed, chosen.tolist())

        def paired(step_rng: np.random.Generator) -> torch.Tensor:
            idx = step_rng.choice(len(pairs), size=min(cfg.batch_size, len(pairs)),
                                  replace=False)
            return cfg.paired_weight * pairs.distance(model.music_proj, idx, cfg.paired_floor)

    def score() -> dict:
        row = validation_score(encoder, tasks, val, cfg.max_val)
        if val_pairs is not None:
            row["variant_cosine"] = round(1 - float(val_pairs.distance(model.music_proj)), 4)
        return row

    head, scale = model.text_proj, model.logit_scale
    heads = [head, model.music_proj] if cfg.music_head else [head]
    for h in heads:
        h.requires_grad_(True)
    if isinstance(scale, torch.nn.Parameter):
        scale.requires_grad_(True)
    params = [p for p in (*(q for h in heads for q in h.parameters()), scale) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    encoder = HeadEncoder(model, dict(by_abc), project=cfg.music_head)
    tasks = task_sets([{**r, "split": "test"} for r in val] + train)  # val scored as a test split
    rng = np.random.default_rng(cfg.seed)

    def snapshot() -> dict[str, torch.Tensor]:
        return {name: t.detach().clone() for name, t in model.named_parameters()
                if t.requires_grad}

    with torch.no_grad():
        history = [{"epoch": 0, **score()}]
    log.info("epoch 0 (as given): %s", history[-1])
    best, best_state = history[0], snapshot()
    anchored = [(h.weight, h.weight.detach().clone()) for h in heads]
    for epoch in range(1, cfg.epochs + 1):
        loss = _epoch(head, scale, opt, music, texts, weights, cfg.batch_size, rng,
                      (cfg.anchor, anchored), positives, paired)
        with torch.no_grad():
            row = {"epoch": epoch, "loss": round(loss, 4), **score()}
        history.append(row)
        log.info("epoch %d: loss %.4f, val score %.4f (mrr %.4f, variant cosine %s)", epoch,
                 loss, row["score"], row["description_mrr"], row.get("variant_cosine", "-"))
        if row["score"] > best["score"]:
            best, best_state = row, snapshot()
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name, value in best_state.items():
            params[name].copy_(value)
    model.requires_grad_(False)
    save_model(model, out)
    metrics = {"best": best, "history": history, "config": asdict(cfg), "init": str(init),
               "data": str(data), "train_pieces": len(train), "seconds": round(time.time() - t0)}
    (Path(out) / "text_head.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
