"""A small training loop shared by masked-patch pre-training and contrastive training.

AdamW with linear warm-up then cosine decay, gradient accumulation, gradient clipping, autocast
(bf16) where asked, torch DDP under torchrun, and crash-safe checkpoints that resume at the exact
step: the sample order of every epoch is a pure function of (seed, epoch), so a resumed run skips
what was already seen without replaying it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from clamp_core.runtime.precision import autocast_for
from clamp_core.training.distributed import DistInfo, all_reduce_mean

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Optimisation settings (per process; the global batch is batch_size x world x grad_accum)."""

    output_dir: str
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_ratio: float = 0.1
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    seed: int = 0
    autocast: str = "auto"  # auto: bf16 on CUDA only; bf16: also on CPU; off
    save_every_steps: int = 0  # 0: at the end of each epoch only
    max_steps: int | None = None
    resume: bool = True
    # Wall-clock budget of the training loop (e.g. a GPU lease): once the speed is measured, the
    # schedule is shortened to end inside it, and training stops there with a checkpoint.
    time_budget_s: float | None = None
    val_every: int = 1  # validate every N epochs (and after the last)


def epoch_order(n: int, seed: int, epoch: int, info: DistInfo, batch_size: int,
                lengths: list[int] | None = None, bucket: int = 50) -> list[list[int]]:
    """This rank's batches for one epoch: a seeded permutation cut into global batches of
    ``batch_size x world``, of which each rank takes its slice (so N processes see exactly the
    global batches one process would). With ``lengths``, each run of ``bucket`` global batches is
    sorted by length before cutting (little padding), and the batch order is shuffled again."""
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(n)
    global_bs = batch_size * info.world_size
    usable = n - n % global_bs
    perm = perm[:usable]
    if lengths is not None:
        chunk = global_bs * bucket
        lens = np.asarray(lengths)
        perm = (np.concatenate([c[np.argsort(lens[c], kind="stable")]
                                for c in np.split(perm, range(chunk, usable, chunk))])
                if usable else perm)
    batches = [perm[s:s + global_bs] for s in range(0, usable, global_bs)]
    if lengths is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    lo = info.rank * batch_size
    return [b[lo:lo + batch_size].tolist() for b in batches]


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # Biases, norms and the temperature are not shrunk towards zero.
        (no_decay if p.ndim < 2 or "LayerNorm" in name or "logit_scale" in name
         else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _lr_lambda(cfg: TrainConfig, plan: dict) -> Callable[[int], float]:
    """Warm-up then cosine to ``min_lr_ratio`` at ``plan["total"]`` (read at each step, so a
    time budget can shorten the schedule once the speed is known)."""
    def f(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        total_steps = plan["total"]
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return f


def training_precision(mode: str, device: torch.device) -> str:
    """bf16 on CUDA by default; on CPU only when asked (speed depends on AMX)."""
    return "fp32" if mode == "off" or (mode == "auto" and device.type != "cuda") else "bf16"


_PROBE_STEPS = (5, 30)  # the speed under a time budget is first measured between these steps


class TimeBudget:
    """Fits the schedule into ``seconds`` of training loop. The speed is measured from the 5th
    step of the run (the first few are slow: allocation, autotuning) and re-measured every 25
    steps, validation and checkpoints included, and the cosine schedule is re-aimed to end 5%
    before the budget (never later than the planned epochs)."""

    def __init__(self, seconds: float | None, plan: dict, first_step: int):
        self.seconds, self.plan, self.first = seconds, plan, first_step
        self.planned = plan["total"]
        self.start = time.monotonic()
        self.probe_start: float | None = None

    def after_step(self, step: int) -> bool:
        """Called after each optimizer step; True when training must stop now."""
        if not self.seconds:
            return False
        now = time.monotonic()
        done = step - self.first
        if done == _PROBE_STEPS[0]:
            self.probe_start = now
        elif done >= _PROBE_STEPS[1] and (done - _PROBE_STEPS[1]) % 25 == 0 and self.probe_start:
            per_step = (now - self.probe_start) / (done - _PROBE_STEPS[0])
            fits = step + int((self.seconds * 0.95 - (now - self.start)) / per_step)
            total = max(step + 1, min(self.planned, fits))
            if done == _PROBE_STEPS[1]:
                log.info("time budget: %.0f ms/step, schedule aimed at %d steps",
                         per_step * 1000, total)
            self.plan["total"] = total
        return step >= self.plan["total"] or now - self.start > self.seconds


class _Prefetcher:
    """Builds batch b+1 in a thread while batch b trains, so an accelerator does not wait for
    tokenisation and padding; batches are pure functions of (indices, epoch), so order and
    results are those of building them in line."""

    def __init__(self, make_batch, batches: list[list[int]], epoch: int, start: int, end: int):
        from concurrent.futures import ThreadPoolExecutor

        self.make, self.batches, self.epoch, self.end = make_batch, batches, epoch, end
        self.pool = ThreadPoolExecutor(1)
        self.next = self.pool.submit(make_batch, batches[start], epoch) if start < end else None

    def take(self, b: int) -> dict:
        batch = self.next.result()
        self.next = (self.pool.submit(self.make, self.batches[b + 1], self.epoch)
                     if b + 1 < self.end else None)
        return batch

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class Checkpointer:
    """``last/`` holds the resumable state; it is replaced by rename so a kill never corrupts it."""

    def __init__(self, output_dir: str | Path, save_model: Callable[[Path], None]):
        self.root = Path(output_dir)
        self.save_model = save_model

    @property
    def last(self) -> Path:
        return self.root / "last"

    def save(self, state: dict) -> None:
        tmp, old = self.root / "last.tmp", self.root / "last.old"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.save_model(tmp)
        torch.save(state, tmp / "trainer_state.pt")
        (tmp / "trainer_state.json").write_text(json.dumps(
            {k: state[k] for k in ("step", "epoch", "batch_in_epoch", "metrics")}, indent=2))
        shutil.rmtree(old, ignore_errors=True)
        if self.last.exists():
            os.replace(self.last, old)
        os.replace(tmp, self.last)
        shutil.rmtree(old, ignore_errors=True)

    def find(self) -> Path | None:
        """The newest complete checkpoint (``last.old`` if a kill struck between two renames)."""
        for cand in (self.last, self.root / "last.old"):
            if (cand / "trainer_state.pt").is_file():
                return cand
        return None


def train_loop(
    model: nn.Module,
    n_train: int,
    make_batch: Callable[[list[int], int], dict],
    step_loss: Callable[[nn.Module, dict], torch.Tensor],
    cfg: TrainConfig,
    info: DistInfo,
    save_model: Callable[[Path], None],
    validate: Callable[[nn.Module], dict] | None = None,
    load_model_state: Callable[[Path], None] | None = None,
    device: torch.device | str = "cpu",
    lengths: list[int] | None = None,
    best_metric: str | None = None,
) -> dict:
    """Run (or resume) training; returns the final metrics.

    ``make_batch(indices, epoch)`` builds a batch; ``step_loss(model, batch)`` returns the loss;
    ``lengths`` (per example) turns on length-bucketed batches; ``best_metric`` (a key of the
    validation metrics, higher is better) keeps the best validated model in ``best/``.
    """
    device = torch.device(device)
    model.to(device)
    steps_per_epoch = n_train // (cfg.batch_size * info.world_size) // cfg.grad_accum
    if steps_per_epoch == 0:
        raise ValueError(f"{n_train} examples are too few for batch {cfg.batch_size} x "
                         f"{info.world_size} processes x {cfg.grad_accum} accumulation")
    # max_steps only stops early: the schedule stays the same; a time budget shortens it.
    plan = {"total": steps_per_epoch * cfg.epochs}
    opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, plan))
    ckpt = Checkpointer(cfg.output_dir, save_model)
    step, start_epoch, skip, metrics = 0, 0, 0, {}
    found = ckpt.find() if cfg.resume else None
    if found is not None:
        state = torch.load(found / "trainer_state.pt", map_location="cpu", weights_only=False)
        if load_model_state is not None:
            load_model_state(found)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, start_epoch, skip = state["step"], state["epoch"], state["batch_in_epoch"]
        metrics = state.get("metrics", {})
        plan["total"] = state.get("total_steps", plan["total"])
        if info.is_main:
            log.info("resumed from %s at step %d (epoch %d, batch %d)", found, step, start_epoch,
                     skip)
    net = model
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model,
                                      device_ids=[device.index] if device.type == "cuda" else None)

    def checkpoint(epoch: int, batch_in_epoch: int) -> None:
        if info.is_main:
            ckpt.save({"step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
                       "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                       "metrics": metrics, "config": asdict(cfg), "total_steps": plan["total"],
                       "best": best})
        if info.enabled:
            torch.distributed.barrier()

    from tqdm import tqdm

    budget = TimeBudget(cfg.time_budget_s, plan, step)
    best = state.get("best") if found is not None else None
    for epoch in range(start_epoch, cfg.epochs):
        batches = epoch_order(n_train, cfg.seed, epoch, info, cfg.batch_size, lengths)
        usable = len(batches) - len(batches) % cfg.grad_accum
        model.train()
        bar = tqdm(total=usable // cfg.grad_accum, initial=skip // cfg.grad_accum,
                   disable=not info.is_main, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False)
        running, stopped_at = [], None
        prefetch = _Prefetcher(make_batch, batches, epoch, skip, usable)
        for b in range(skip, usable):
            batch = {k: v.to(device) if torch.is_tensor(v) else v
                     for k, v in prefetch.take(b).items()}
            sync = (b + 1) % cfg.grad_accum == 0
            no_sync = net.no_sync() if info.enabled and not sync else contextlib.nullcontext()
            with no_sync, autocast_for(training_precision(cfg.autocast, device), device):
                loss = step_loss(net, batch)
            (loss / cfg.grad_accum).backward()
            running.append(loss.item())
            if not sync:
                continue
            if cfg.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(running[-20:]):.4f}",
                            lr=f"{sched.get_last_lr()[0]:.2e}")
            if cfg.save_every_steps and step % cfg.save_every_steps == 0:
                checkpoint(epoch, b + 1)
            if budget.after_step(step) or (cfg.max_steps and step >= cfg.max_steps):
                stopped_at = b + 1
                break
        bar.close()
        prefetch.close()
        skip = 0
        metrics = {"epoch": epoch + 1, "step": step,
                   "train_loss": all_reduce_mean(float(np.mean(running)) if running
                                                 else float("nan"), info)}
        last = stopped_at is not None or epoch + 1 == cfg.epochs
        if validate is not None and info.is_main and (last or (epoch + 1) % cfg.val_every == 0):
            model.eval()
            metrics.update(validate(model))
            if best_metric and (metrics.get(best_metric, -math.inf)
                                > (best or {}).get(best_metric, -math.inf)):
                best = dict(metrics)
                save_model(Path(cfg.output_dir) / "best")
                (Path(cfg.output_dir) / "best" / "metrics.json").write_text(
                    json.dumps(best, indent=2))
        if info.is_main:
            log.info("epoch %d: %s", epoch + 1, json.dumps(metrics))
        if stopped_at is not None and stopped_at < usable:
            checkpoint(epoch, stopped_at)  # a later run with more max_steps resumes mid-epoch
            break
        checkpoint(epoch + 1, 0)
        if stopped_at is not None:
            break
    return metrics
