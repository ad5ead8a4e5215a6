"""Training verbs of the `clamp` CLI: init-model, pretrain-music, train (torchrun-ready) and
tune-text."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import click

from clamp_core.errors import ClampError


@click.command("init-model", short_help="Create a new model folder (pretrained text tower).")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--preset", "preset_name", default="small", show_default=True,
              type=click.Choice(["tiny", "small", "clamp-small-512", "clamp-small-1024"]))
@click.option("--seed", default=0, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite a model folder that exists.")
def init_model(folder: str, preset_name: str, seed: int, force: bool) -> None:
    """Create a new model folder: pretrained text tower, freshly initialised music tower."""
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    if (Path(folder) / "config.json").exists() and not force:
        raise ClampError(f"{folder} already holds a model; pass --force to overwrite it")
    cfg = preset(preset_name)
    if cfg.official:
        raise ClampError("official shapes need official weights; use --preset tiny or small")
    save_model(create_model(cfg, seed=seed), folder)
    click.echo(f"created {folder} (preset {preset_name}, seed {seed})")


def _train_options(f):
    """Options shared by the training verbs."""
    opts = [
        click.option("--out", "output_dir", required=True, type=click.Path(file_okay=False),
                     help="Model folder to write; a run that finds last/ in it resumes."),
        click.option("--init", default=None, type=click.Path(file_okay=False),
                     help="Start from this model folder (e.g. pre-trained)."),
        click.option("--preset", "preset_name", default="small", show_default=True,
                     type=click.Choice(["tiny", "small"]), help="Architecture when not --init."),
        click.option("--dropout", type=float, default=None,
                     help="Music encoder dropout (default: preset)."),
        click.option("--epochs", default=10, show_default=True),
        click.option("--batch-size", default=32, show_default=True, help="Per process."),
        click.option("--lr", default=1e-4, show_default=True),
        click.option("--warmup-steps", default=200, show_default=True),
        click.option("--grad-accum", default=1, show_default=True),
        click.option("--max-steps", type=int, default=None),
        click.option("--save-every-steps", default=0, show_default=True),
        click.option("--seed", default=0, show_default=True),
        click.option("--autocast", default="auto", show_default=True,
                     type=click.Choice(["auto", "bf16", "off"])),
        click.option("--no-resume", is_flag=True, help="Start afresh even if a checkpoint exists."),
        click.option("--device", default="auto", show_default=True,
                     help="cpu, cuda, cuda:N or auto."),
        click.option("--max-patches", type=int, default=None,
                     help="Random training window for long pieces (default: the model's "
                          "max_length)."),
        click.option("--time-budget", type=float, default=None, metavar="MINUTES",
                     help="Fit the schedule into this wall time of training (e.g. a GPU lease)."),
        click.option("--val-every", default=1, show_default=True, help="Validate every N epochs."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _common(kw: dict) -> dict:
    """Keyword arguments shared by pretrain_music and train_contrastive."""
    import dataclasses

    import torch

    from clamp_core.model.config import preset
    from clamp_core.training.loop import TrainConfig

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = preset(kw["preset_name"])
    if kw["dropout"] is not None:
        cfg = dataclasses.replace(cfg, music_dropout=kw["dropout"])
    device = kw["device"]
    if device == "auto":
        device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if torch.cuda.is_available() else "cpu"
    train_cfg = TrainConfig(
        output_dir=kw["output_dir"], epochs=kw["epochs"], batch_size=kw["batch_size"], lr=kw["lr"],
        warmup_steps=kw["warmup_steps"], grad_accum=kw["grad_accum"], max_steps=kw["max_steps"],
        save_every_steps=kw["save_every_steps"], seed=kw["seed"], autocast=kw["autocast"],
        resume=not kw["no_resume"], val_every=kw["val_every"],
        time_budget_s=kw["time_budget"] * 60 if kw["time_budget"] else None)
    return {"cfg": train_cfg, "init": kw["init"], "model_config": cfg, "device": device,
            "max_patches": kw["max_patches"]}


def _report(metrics: dict) -> None:
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(json.dumps(metrics, indent=2))


@click.command(short_help="Contrastive training on a dataset JSONL (torchrun-ready).")
@click.argument("data", type=click.Path(dir_okay=False))
@_train_options
@click.option("--train-text", is_flag=True, help="Also train the text encoder (default: locked).")
@click.option("--keep-prob", default=0.5, show_default=True, help="Text dropout keep probability.")
@click.option("--repeat", "repeat", multiple=True, metavar="COLLECTION=N",
              help="See a collection's training works N times per epoch (repeatable), "
                   "e.g. lieder=4.")
@click.option("--variant-prob", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Chance a piece is seen re-beamed, with or without its text, dynamics, grace "
                   "notes and slurs (as MIDI or MuseScore 4's cursor walk give it).")
@click.option("--paired-variants", is_flag=True,
              help="Also train each piece's two writings to encode alike (a second loss term).")
@click.option("--paired-weight", default=4.0, show_default=True,
              help="Weight of the paired term (mean cosine distance) against the text loss.")
@click.option("--transpose-prob", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Chance a piece is seen in another key (a fixed interval per piece, a fourth "
                   "down to a tritone up; notes, K: and chord symbols), in any of its writings, "
                   "with the key names of its texts moved along.")
def train(data: str, train_text: bool, keep_prob: float, repeat: tuple[str, ...],
          variant_prob: float, paired_variants: bool, paired_weight: float,
          transpose_prob: float, **kw) -> None:
    """Contrastive training on a dataset JSONL (multi-process: launch with torchrun)."""
    from clamp_core.training.contrastive import train_contrastive

    _report(train_contrastive(data, freeze_text=not train_text, keep_prob=keep_prob,
                              repeats=_parse_repeats(repeat), variant_prob=variant_prob,
                              paired=paired_variants, paired_weight=paired_weight,
                              transpose_prob=transpose_prob, **_common(kw)))


def _parse_repeats(items: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for item in items:
        name, _, n = item.partition("=")
        if not name or not n.isdigit() or int(n) < 1:
            raise click.BadParameter(f"{item!r}: write COLLECTION=N with N >= 1, e.g. lieder=4",
                                     param_hint="--repeat")
        out[name] = int(n)
    return out


@click.command("pretrain-music", short_help="Masked-patch pre-training of the music encoder.")
@click.argument("data", type=click.Path(dir_okay=False))
@_train_options
@click.option("--decoder-layers", default=2, show_default=True)
@click.option("--max-decoded", type=int, default=None,
              help="Spell out at most this many selected patches per batch (CPU budget).")
def pretrain_music_cmd(data: str, decoder_layers: int, max_decoded: int | None, **kw) -> None:
    """Masked-patch pre-training of the music encoder (launch with torchrun for several
    processes)."""
    from clamp_core.training.pretrain import pretrain_music

    _report(pretrain_music(data, decoder_layers=decoder_layers, max_decoded=max_decoded,
                           **_common(kw)))


@click.command("tune-text",
               short_help="Tune a model's projection heads on cached features.")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--init", required=True, type=click.Path(file_okay=False),
              help="The trained model folder whose text projection is tuned.")
@click.option("--out", "output_dir", required=True, type=click.Path(file_okay=False),
              help="Model folder to write (its features/ cache makes a rerun fast).")
@click.option("--epochs", default=30, show_default=True,
              help="0 only encodes (fills --features) and scores the model as given.")
@click.option("--batch-size", default=1024, show_default=True)
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--texts-per-work", default=8, show_default=True,
              help="Text-dropout samples per training piece, encoded once.")
@click.option("--single-share", default=0.25, show_default=True, type=click.FloatRange(0, 1),
              help="Share of the samples that are one text candidate alone.")
@click.option("--repeat", "repeat", multiple=True, metavar="COLLECTION=N",
              help="Draw a collection's pieces N times as often (repeatable).")
@click.option("--anchor", default=0.0, show_default=True,
              help="Weight of the squared distance to the given projection (keeps what it knew).")
@click.option("--positives", default="described", show_default=True,
              type=click.Choice(["described", "own"]),
              help="A text's positives: every piece in the batch it describes (all its parts "
                   "are among the piece's own texts), or its own piece alone.")
@click.option("--features", "features_dir", default=None, type=click.Path(file_okay=False),
              help="Where encoded pieces and texts are kept (default: OUT/features); runs that "
                   "share it encode each piece and text once.")
@click.option("--music-head", is_flag=True,
              help="Tune the music projection too (music vectors change; both encoders stay "
                   "locked, their pooled states cached).")
@click.option("--paired-weight", default=0.0, show_default=True,
              help="With --music-head: weight of the cosine distance between a piece's vector "
                   "and its plain re-beamed writing's (keeps MuseScore's and MIDI's close).")
@click.option("--paired-pieces", default=4000, show_default=True,
              help="Training pieces whose plain re-beamed writing is encoded for that term.")
@click.option("--paired-floor", default=1.0, show_default=True, type=click.FloatRange(-1, 1),
              help="Pull only pairs whose cosine is below this (1: every pair).")
@click.option("--seed", default=0, show_default=True)
def tune_text(data: str, init: str, output_dir: str, epochs: int, batch_size: int, lr: float,
              texts_per_work: int, single_share: float, repeat: tuple[str, ...],
              anchor: float, positives: str, features_dir: str | None, music_head: bool,
              paired_weight: float, paired_pieces: int, paired_floor: float,
              seed: int) -> None:
    """Tune a trained model's text projection and temperature against its music space, which
    stays as it is unless --music-head tunes its projection too (an index re-encodes either
    way: the model's fingerprint changes). Every piece and sampled text is encoded once; the
    epoch kept is the best on the val split (zero-shot tasks and description MRR)."""
    from clamp_core.training.text_head import TextHeadConfig, tune_text_head

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if Path(output_dir).resolve() == Path(init).resolve():
        raise ClampError("--out must be another folder than --init (the tuned model is new)")
    if paired_weight and not music_head:
        raise ClampError("--paired-weight tunes the music projection: add --music-head")
    if paired_floor < 1 and not paired_weight:
        raise ClampError("--paired-floor shapes the paired term: add --paired-weight")
    cfg = TextHeadConfig(epochs=epochs, batch_size=batch_size, lr=lr,
                         texts_per_work=texts_per_work, single_share=single_share, seed=seed,
                         anchor=anchor, shared_positives=positives == "described",
                         music_head=music_head, paired_weight=paired_weight,
                         paired_pieces=paired_pieces, paired_floor=paired_floor)
    metrics = tune_text_head(data, init, output_dir, cfg, repeats=_parse_repeats(repeat),
                             cache_dir=features_dir)
    _report({"best": metrics["best"], "seconds": metrics["seconds"], "out": output_dir})
