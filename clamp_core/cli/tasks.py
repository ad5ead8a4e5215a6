"""Verbs that ask the model about one score: `clamp classify`, `clamp caption`."""

from __future__ import annotations

import click

from clamp_core.cli.output import emit_json, warn_unfamiliar


def complete_label_set(ctx, param, incomplete: str) -> list:
    """Shell completion of --label-set: the built-in names that fit, else the shell's file
    names (bash shows one kind or the other, never both)."""
    from click.shell_completion import CompletionItem

    from clamp_core.labels import builtin_names

    names = [n for n in builtin_names() if n.startswith(incomplete)]
    return [CompletionItem(n) for n in names] or [CompletionItem(incomplete, type="file")]


def _load_clamp(model_name: str):
    from clamp_core.api import Clamp

    return Clamp.load(model_name)


@click.command()
# a path type, so shells complete it; our own error says what is wrong with a missing file
@click.argument("file", type=click.Path())
@click.option("--labels", help='Comma-separated labels, e.g. "reel,jig,hornpipe".')
@click.option("--label-set", shell_complete=complete_label_set,
              help="A built-in label set (tune_types, genres, eras, moods, ensembles, "
                   "composers) or a JSON file.")
@click.option("--template", "templates", multiple=True,
              help="Prompt template with {} for the label; repeat to ensemble several.")
@click.option("--model", "model_name", default="default", show_default=True,
              type=click.Path(), help="Model folder, ONNX bundle, or 'default'.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def classify(file: str, labels: str | None, label_set: str | None, templates: tuple[str, ...],
             model_name: str, as_json: bool) -> None:
    """Rank labels for a score (zero-shot), with probabilities.

    Probabilities are calibrated on the model's validation tasks (`clamp calibrate`): a stated
    70% is right about 70% of the time there. A score unlike anything the model was trained on
    is flagged, since its labels are then guesses."""
    from clamp_core.labels import load_label_set

    if bool(labels) == bool(label_set):
        raise click.UsageError("give exactly one of --labels and --label-set")
    own = None
    if label_set:
        ls = load_label_set(label_set)
        names, tmpl, own = list(ls.labels), list(templates) or list(ls.templates), ls.prompts
    else:
        names, tmpl = [x.strip() for x in labels.split(",") if x.strip()], list(templates) or None
    if len(names) < 2:
        raise click.UsageError("classify needs at least two labels")
    clamp = _load_clamp(model_name)
    music = clamp.encode_scores([file])[0]
    ranked = clamp.rank_labels(music, names, tmpl, own)
    novelty = clamp.novelty_of(music)
    if as_json:
        emit_json({"file": file, "model": model_name, "calibrated": clamp.calibration.fitted,
                   "labels": [{"label": a, "probability": round(p, 4)} for a, p in ranked],
                   "novelty": novelty.to_dict()})
        return
    width = max(len(a) for a, _ in ranked)
    for a, p in ranked:
        click.echo(f"{a:<{width}}  {p * 100:5.1f}%  {'#' * round(p * 40)}")
    warn_unfamiliar(novelty)


@click.command(short_help="Describe a score: its facts and what the model hears in it.")
@click.argument("file", type=click.Path())
@click.option("--model", "model_name", default="default", show_default=True,
              type=click.Path(), help="Model folder, ONNX bundle, or 'default'.")
@click.option("--json", "as_json", is_flag=True, help="Each part of the caption with its score.")
def caption(file: str, model_name: str, as_json: bool) -> None:
    """Describe a score: facts read from it plus what the model hears in it."""
    cap = _load_clamp(model_name).caption(file)
    if as_json:
        emit_json({"file": file, "model": model_name, **cap.to_dict()})
    else:
        import textwrap

        click.echo(textwrap.fill(cap.text, width=100))
